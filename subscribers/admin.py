"""Django admin for the audience: people, lists, subscriptions, suppressions, segments,
the audit trail, and CSV import (preview first) and export.

Status changes go through ``subscribers.services`` (audited with the admin's name); the
admin never edits ``Subscription.status`` as a plain field.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from mailer.core.textguard import control_character_find, control_character_message
from mailer.rendering import RenderError
from mailer.web.csp import email_document
from subscribers import services
from subscribers.csvformat import Unreadable, csv_open, row_parse
from subscribers.exporter import cell_safe, export_rows
from subscribers.importer import ImportMode, import_csv, report_lines
from subscribers.mail import sample_values
from subscribers.mail_content import mail_compiled, welcome_check, welcome_source
from subscribers.models import (
    MailingList,
    Segment,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    Tag,
    TransactionalMail,
    email_hash,
)
from subscribers.segments import SegmentError, segment_compile, segment_preview

PREVIEW_ROWS = 10


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(people: QuerySet[Subscriber], filename: str,
                 mailing_list: MailingList | None = None) -> StreamingHttpResponse:
    import csv

    writer = csv.writer(_Echo(), lineterminator="\r\n")
    rows = (writer.writerow(r) for r in export_rows(people, mailing_list))
    response = StreamingHttpResponse(
        ("\ufeff" if i == 0 else "") + line for i, line in enumerate(rows))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Subscribers --------------------------------------------------------------------------

class SubscriberForm(forms.ModelForm):
    class Meta:
        model = Subscriber
        fields = ["email", "name", "organisation", "country", "language", "attributes", "tags",
                  "status"]

    def clean_email(self) -> str:
        try:
            email = services.email_normalise(self.cleaned_data["email"])
        except services.InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None
        clash = Subscriber.objects.filter(email_hash=email_hash(email))
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(gettext("A subscriber with this address already exists."))
        return email

    def clean_name(self) -> str:
        return services.name_clean(self.cleaned_data["name"])

    def clean_attributes(self) -> Any:
        # The JSON text may spell a NUL as \u0000, which the request guard cannot see.
        value = self.cleaned_data["attributes"]
        hit = control_character_find(value, "attributes")
        if hit:
            raise forms.ValidationError(control_character_message(*hit))
        return value

    def clean_organisation(self) -> str:
        return services.name_clean(self.cleaned_data["organisation"])

    def clean_country(self) -> str:
        from subscribers.csvformat import RowError, country_code

        try:
            return country_code(self.cleaned_data["country"])
        except RowError as exc:
            raise forms.ValidationError(str(exc)) from None


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    can_delete = False
    fields = ("mailing_list", "status", "consent_at", "consent_method", "consent_source",
              "consent_ip", "consent_text")
    readonly_fields = ("mailing_list", "status", "consent_at", "consent_method",
                       "consent_source", "consent_ip", "consent_text")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AddToListForm(forms.Form):
    mailing_list = forms.ModelChoiceField(queryset=MailingList.objects.order_by("name"),
                                          label=_("Mailing list"))


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ["email", "name", "organisation", "country", "language", "status",
                    "created_at"]
    list_filter = ["status", "subscriptions__mailing_list", "subscriptions__status", "country",
                   "language", "tags"]
    search_fields = ["email", "name", "organisation"]
    readonly_fields = ["email_hash", "created_at", "updated_at"]
    filter_horizontal = ["tags"]
    inlines = [SubscriptionInline]
    actions = ["add_to_list", "suppress", "export_csv"]
    change_list_template = "admin/subscribers/subscriber/change_list.html"

    def save_model(self, request: HttpRequest, obj: Subscriber, form: Any, change: bool) -> None:
        obj.email_hash = email_hash(obj.email)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Add to a list (confirmed)"))
    def add_to_list(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> Any:
        form = AddToListForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            mlist = form.cleaned_data["mailing_list"]
            for sub in queryset:
                services.subscription_set(sub, mlist, Subscription.Status.CONFIRMED,
                                          actor=_actor(request), method="admin",
                                          source="admin: add to list")
            count = queryset.count()
            self.message_user(request, ngettext(
                "%(count)d person added to %(list)s.", "%(count)d people added to %(list)s.",
                count) % {"count": count, "list": mlist})
            return None
        return render(request, "admin/subscribers/add_to_list.html", {
            **self.admin_site.each_context(request), "form": form, "people": queryset,
            "opts": self.model._meta, "title": gettext("Add to a list")})

    @admin.action(description=_("Suppress (never mail again)"))
    def suppress(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        for sub in queryset:
            services.suppression_add(sub.email, Suppression.Reason.MANUAL,
                                     detail=f"admin {request.user.get_username()}")
            SubscriptionEvent.objects.create(subscriber=sub, email_hash=sub.email_hash,
                                             action="suppress", new_status="suppressed",
                                             actor=_actor(request))
        count = queryset.count()
        self.message_user(request, ngettext("%(count)d address suppressed.",
                                            "%(count)d addresses suppressed.",
                                            count) % {"count": count})

    @admin.action(description=_("Export as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> Any:
        return csv_response(Subscriber.objects.filter(pk__in=queryset.values("pk")),
                            "subscribers.csv")

    def get_urls(self) -> list[URLPattern]:
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="subscribers_subscriber_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return admin_import(self, request)


# --- Import page -------------------------------------------------------------------------------

class ImportForm(forms.Form):
    csv_file = forms.FileField(label=_("CSV file"), required=False)
    upload = forms.CharField(widget=forms.HiddenInput, required=False)
    mailing_list = forms.ModelChoiceField(queryset=MailingList.objects.order_by("name"),
                                          required=False, label=_("Mailing list"),
                                          help_text=_("Needed for subscribe mode."))
    mode = forms.ChoiceField(choices=[(m.value, m.value) for m in ImportMode], label=_("Mode"))
    encoding = forms.ChoiceField(choices=[("", _("detect")), ("utf-8", "UTF-8"),
                                          ("windows-1251", "Windows-1251")], required=False,
                                 label=_("Encoding"))
    strict = forms.BooleanField(required=False, label=_("Strict"),
                                help_text=_("Import nothing if any row is bad."))
    consent_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   label=_("Consent text"),
                                   help_text=_("What these people agreed to."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == ImportMode.SUBSCRIBE and not data.get("mailing_list"):
            self.add_error("mailing_list", gettext("Choose the list to subscribe people to."))
        if not data.get("csv_file") and not data.get("upload"):
            self.add_error("csv_file", gettext("Choose a CSV file."))
        return data


def _import_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _upload_path(token: str) -> Path:
    """Where step 1 keeps an upload for step 2; the token is ours (hex), never a path."""
    if not token.isalnum():
        raise Unreadable(gettext("the uploaded file has expired; upload it again"))
    return _import_dir() / f"{token}.csv"


def _preview(path: Path, encoding: str | None) -> dict[str, Any]:
    with path.open("rb") as stream:
        src = csv_open(stream, encoding=encoding)
        rows: list[dict[str, Any]] = []
        for line, cells in src.rows:
            if len(rows) >= PREVIEW_ROWS:
                break
            if isinstance(cells, Exception):
                rows.append({"line": line, "cells": [], "error": str(cells)})
                continue
            try:
                row_parse(cells, src.columns, line)
                error = ""
            except ValueError as exc:
                error = str(exc)
            rows.append({"line": line, "cells": [cell_safe(c)[:80] for c in cells],
                         "error": error})
        return {"encoding": src.encoding, "delimiter": repr(src.delimiter),
                "mapping": src.columns.describe(), "header": src.columns.header, "rows": rows}


def admin_import(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Step 1 uploads and previews (mapping, first rows, a dry run); step 2 imports."""
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {**model_admin.admin_site.each_context(request), "form": form,
                               "opts": Subscriber._meta,
                               "title": gettext("Import subscribers")}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data.get("csv_file"):
                _import_dir().mkdir(parents=True, exist_ok=True)
                token = secrets.token_hex(16)
                with _upload_path(token).open("wb") as out:
                    for chunk in data["csv_file"].chunks():
                        out.write(chunk)
            else:
                token = data["upload"]
            upload = _upload_path(token)
            if not upload.exists():
                raise Unreadable(gettext("the uploaded file has expired; upload it again"))
            with upload.open("rb") as stream:
                report = import_csv(stream, data["mailing_list"], mode=data["mode"],
                                    encoding=data["encoding"] or None,
                                    dry_run="confirm" not in request.POST,
                                    strict=data["strict"], actor=_actor(request),
                                    source="admin import", consent_text=data["consent_text"])
            context.update(preview=_preview(upload, data["encoding"] or None), report=report,
                           report_lines=report_lines(report)[:200], upload=token)
            if "confirm" in request.POST:
                upload.unlink(missing_ok=True)
                messages.success(request, gettext("Imported: %(summary)s") % {"summary": report.summary()})
                context["done"] = True
        except Unreadable as exc:
            form.add_error(None, gettext("The file could not be read: %(why)s. Nothing was imported.")
                           % {"why": exc})
    return render(request, "admin/subscribers/import.html", context)


# --- Lists, subscriptions ----------------------------------------------------------------------

class MailingListForm(forms.ModelForm):
    """Refuses a welcome text that could not be sent: it is rendered exactly as it would
    be, and the renderer's errors (front matter, template code, unsafe links) are shown."""

    class Meta:
        model = MailingList
        fields = ["name", "slug", "description", "kind", "opt_in", "visibility", "tracking_mode",
                  "welcome_en", "welcome_ru"]
        widgets = {"welcome_en": forms.Textarea(attrs={"rows": 12, "cols": 90}),
                   "welcome_ru": forms.Textarea(attrs={"rows": 12, "cols": 90})}

    def _welcome_clean(self, field: str, language: str) -> str:
        source: str = self.cleaned_data.get(field, "")
        if source.strip():
            try:
                welcome_check(source, language)
            except RenderError as exc:
                raise forms.ValidationError(
                    [gettext("The welcome mail cannot be rendered, so it was not saved; fix "
                             "this and save again:")] + [str(f) for f in exc.findings]) from None
        return source

    def clean_welcome_en(self) -> str:
        return self._welcome_clean("welcome_en", "en")

    def clean_welcome_ru(self) -> str:
        return self._welcome_clean("welcome_ru", "ru")


@admin.register(MailingList)
class MailingListAdmin(admin.ModelAdmin):
    form = MailingListForm
    list_display = ["name", "slug", "kind", "opt_in", "visibility", "tracking_mode", "confirmed"]
    list_filter = ["kind", "opt_in", "visibility", "tracking_mode"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["welcome_preview"]
    actions = ["export_csv"]

    def get_urls(self) -> list[URLPattern]:
        return [path("<int:pk>/welcome/<str:language>/",
                     self.admin_site.admin_view(self.welcome_view),
                     name="subscribers_mailinglist_welcome"), *super().get_urls()]

    def welcome_view(self, request: HttpRequest, pk: int, language: str) -> HttpResponse:
        """The saved welcome mail as a subscriber would see it (sample merge values), under
        the sandboxed policy of every compiled email served as a page."""
        mlist = MailingList.objects.filter(pk=pk).first()
        if mlist is None or not self.has_view_permission(request, mlist):
            return HttpResponse(status=404)
        source, used = welcome_source(mlist, language)
        if not source:
            return HttpResponse(gettext("This list has no welcome mail."),
                                content_type="text/plain; charset=utf-8", status=404)
        try:
            template = mail_compiled(TransactionalMail.Kind.WELCOME, mlist.pk, used, source)
        except RenderError as exc:
            return HttpResponse(str(exc), content_type="text/plain; charset=utf-8", status=422)
        return email_document(template.render(sample_values())[0])

    @admin.display(description=_("welcome mail preview"))
    def welcome_preview(self, obj: MailingList) -> str:
        if obj.pk is None or not (obj.welcome_en.strip() or obj.welcome_ru.strip()):
            return gettext("No welcome mail: people who join get none.")
        written = [(code, label) for code, label, source in (
            ("en", gettext("English"), obj.welcome_en), ("ru", gettext("Russian"), obj.welcome_ru))
            if source.strip()]
        return format_html_join(" · ", '<a href="{}" target="_blank" rel="noopener">{}</a>',
                                [(f"../welcome/{code}/", label) for code, label in written])

    def get_queryset(self, request: HttpRequest) -> QuerySet[MailingList]:
        return super().get_queryset(request).annotate(
            n_confirmed=Count("subscriptions", filter=Q(subscriptions__status="confirmed")))

    @admin.display(description=_("confirmed"), ordering="n_confirmed")
    def confirmed(self, obj: Any) -> int:
        return int(obj.n_confirmed)

    @admin.action(description=_("Export the list as CSV (with consent)"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[MailingList]) -> Any:
        mlist = queryset.first()
        if mlist is None or queryset.count() != 1:
            self.message_user(request, gettext("Choose exactly one list to export."), messages.WARNING)
            return None
        return csv_response(Subscriber.objects.all(), f"{mlist.slug}.csv", mlist)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "mailing_list", "status", "consent_at", "consent_method"]
    list_filter = ["mailing_list", "status", "consent_method"]
    search_fields = ["subscriber__email", "subscriber__name"]
    readonly_fields = ["subscriber", "mailing_list", "status", "consent_at", "consent_method",
                       "consent_source", "consent_ip", "consent_text", "created_at",
                       "updated_at"]
    actions = ["unsubscribe", "confirm"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscribe people with the "Add to a list" action or an import

    @admin.action(description=pgettext_lazy("admin action", "Unsubscribe"))
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for sub in queryset.select_related("subscriber", "mailing_list"):
            services.unsubscribe(sub.subscriber, sub.mailing_list, actor=_actor(request),
                                 source="admin")
        count = queryset.count()
        self.message_user(request, ngettext("%(count)d subscription ended.",
                                            "%(count)d subscriptions ended.",
                                            count) % {"count": count})

    @admin.action(description=_("Mark confirmed"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for sub in queryset.select_related("subscriber", "mailing_list"):
            services.subscription_set(sub.subscriber, sub.mailing_list,
                                      Subscription.Status.CONFIRMED, actor=_actor(request),
                                      method="admin", source="admin")


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "subscriber", "mailing_list", "old_status",
                    "new_status", "actor"]
    list_filter = ["action", "new_status", "mailing_list"]
    search_fields = ["subscriber__email", "actor", "email_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ["email", "reason", "detail"]

    def clean_email(self) -> str:
        try:
            return services.email_normalise(self.cleaned_data["email"])
        except services.InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    form = SuppressionForm
    list_display = ["__str__", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email", "email_hash"]

    def save_model(self, request: HttpRequest, obj: Suppression, form: Any,
                   change: bool) -> None:
        obj.email_hash = email_hash(obj.email)
        super().save_model(request, obj, form, change)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


# --- Segments -------------------------------------------------------------------------------------

class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["slug", "name", "rule"]
        widgets = {"rule": forms.Textarea(attrs={"rows": 3, "cols": 80,
                                                 "spellcheck": "false"})}

    def clean_rule(self) -> str:
        rule: str = self.cleaned_data["rule"]
        try:
            segment_compile(rule)
        except SegmentError as exc:
            raise forms.ValidationError(gettext("%(error)s: %(before)s⟨here⟩%(after)s") % {
                "error": exc, "before": rule[:exc.position], "after": rule[exc.position:]}) from None
        return rule


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "slug", "rule", "updated_at"]
    search_fields = ["name", "slug", "rule"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ("name",)}  # filled in from the name as it is typed
    actions = ["export_csv"]
    change_form_template = "admin/subscribers/segment/change_form.html"

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        return [path("preview/", self.admin_site.admin_view(self.preview_view),
                     name="subscribers_segment_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """Live count and a sample for the rule being typed; errors with their position."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        rule = request.GET.get("rule", "")
        try:
            count, sample = segment_preview(rule, sample_size=10)
        except SegmentError as exc:
            return JsonResponse({"error": exc.message, "position": exc.position}, status=200)
        return JsonResponse({"count": count, "sample": [
            {"email": s.email, "name": s.name, "country": s.country, "language": s.language}
            for s in sample]})

    @admin.action(description=_("Export the segment as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Segment]) -> Any:
        segment = queryset.first()
        if segment is None or queryset.count() != 1:
            self.message_user(request, gettext("Choose exactly one segment to export."),
                              messages.WARNING)
            return None
        try:
            people = Subscriber.objects.filter(segment_compile(segment.rule))
        except SegmentError as exc:
            self.message_user(request, f"{segment}: {exc}", messages.ERROR)
            return redirect(request.get_full_path())
        return csv_response(people, f"{segment.slug}.csv")


@admin.register(TransactionalMail)
class TransactionalMailAdmin(admin.ModelAdmin):
    """The audience app's own mails and their outcome; read-only (the worker writes them)."""

    list_display = ["created_at", "kind", "subscriber", "mailing_list", "status", "attempts",
                    "smtp_reply", "sent_at"]
    list_filter = ["kind", "status", "mailing_list"]
    search_fields = ["subscriber__email", "message_id"]
    list_select_related = ["subscriber", "mailing_list"]
    readonly_fields = ["kind", "subscriber", "mailing_list", "subscription", "detail", "status",
                       "attempts", "smtp_reply", "message_id", "created_at", "updated_at",
                       "sent_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
