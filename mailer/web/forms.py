"""Forms of the staff app. Labels are translatable; every field has one (accessibility)."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import getaddresses
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from mailer.core.textguard import control_character_find, control_character_message
from mailer.web import throttle

MAX_TEST_ADDRESSES = 10


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form, refusing attempts from a (username, IP) that failed too often."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed sign-in attempts. For your security, sign-in is blocked "
                    "for %(minutes)s minutes. Wait, or ask an admin to reset your password."),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = throttle.client_ip(self.request) if self.request else "unknown"
        if throttle.login_locked(username, ip):
            raise ValidationError(self.error_messages["locked"], code="locked",
                                  params={"minutes": throttle.lockout_minutes()})
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.login_failed(username, ip)
            raise
        throttle.login_succeeded(username, ip)
        return cleaned


def language_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES]


class IssueUploadForm(forms.Form):
    """A new issue from a Markdown file or pasted Markdown (with front matter)."""

    markdown_file = forms.FileField(label=_("Markdown file"), required=False,
                                    help_text=_("A .md file with front matter, like the example issue."))
    markdown = forms.CharField(label=_("Or paste Markdown"), required=False,
                               widget=forms.Textarea(attrs={"rows": 8}))
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        upload = data.get("markdown_file")
        if upload is not None:
            if upload.size > 1_000_000:
                raise ValidationError(_("The file is larger than 1 MB; is it really Markdown?"))
            try:
                data["source"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(_("The file is not UTF-8 text. Save it as UTF-8 and "
                                        "upload it again.")) from None
            hit = control_character_find(data["source"], "markdown_file")
            if hit:  # an uploaded file is not seen by the request guard
                raise ValidationError(control_character_message(*hit))
            data["filename"] = upload.name
        elif (data.get("markdown") or "").strip():
            data["source"], data["filename"] = data["markdown"], ""
        else:
            raise ValidationError(_("Choose a Markdown file or paste the Markdown."))
        return data


class VariantForm(forms.Form):
    """One language variant: the front matter as fields plus the Markdown body."""

    title = forms.CharField(label=_("Title"), max_length=300)
    number = forms.IntegerField(label=_("Issue number"), required=False, min_value=0)
    date = forms.DateField(label=_("Date"), required=False,
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    subject = forms.CharField(label=_("Subject line"), max_length=300, required=False)
    preheader = forms.CharField(label=_("Preheader (inbox preview text)"), max_length=300,
                                required=False)
    from_name = forms.CharField(label=_("From name"), max_length=200, required=False)
    body = forms.CharField(label=_("Markdown"), widget=forms.Textarea(
        attrs={"rows": 30, "spellcheck": "true", "class": "source"}))

    def front_matter(self) -> dict[str, object]:
        data = self.cleaned_data
        meta: dict[str, object] = {"title": data["title"]}
        if data.get("number") is not None:
            meta["number"] = data["number"]
        if isinstance(data.get("date"), dt.date):
            meta["date"] = data["date"].isoformat()
        for key in ("subject", "preheader", "from_name"):
            if data.get(key):
                meta[key] = data[key]
        return meta


class MediaUploadForm(forms.Form):
    image = forms.FileField(label=_("Image (PNG, JPEG, GIF or WebP, up to 5 MB)"))
    alt_text = forms.CharField(label=_("Alternative text (what the image shows)"),
                               max_length=300, required=False)


class TestSendForm(forms.Form):
    include_me = forms.BooleanField(label=_("Send to my own address"), required=False,
                                    initial=True)
    addresses = forms.CharField(
        label=_("Other addresses (up to 10, one a line or separated by commas or semicolons)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}))
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)

    def clean_addresses(self) -> list[str]:
        from subscribers.services import InvalidAddress, email_normalise

        # Outlook copies recipients as "Name <a@x>; b@y": semicolons, commas and lines all
        # separate addresses, and a display name around one is dropped.
        text = re.sub(r"[;\r\n]+", ",", self.cleaned_data["addresses"])
        raw = [address.strip() for _name, address in getaddresses([text]) if address.strip()]
        if len(raw) > MAX_TEST_ADDRESSES:
            raise ValidationError(_("At most %(n)s addresses; you gave %(given)s."),
                                  params={"n": MAX_TEST_ADDRESSES, "given": len(raw)})
        out = []
        for address in raw:
            try:
                out.append(email_normalise(address))
            except InvalidAddress:
                raise ValidationError(_("%(address)s is not a valid email address."),
                                      params={"address": address}) from None
        return list(dict.fromkeys(out))


def import_too_big_message() -> str:
    return str(_("This file is larger than %(mb)s MB, too large to import in the browser. "
                 "Nothing was imported. Import it on the server with: newsletter "
                 "import_subscribers FILE.csv --list SLUG (add --dry-run to check it first), "
                 "or split it into smaller files.")
               % {"mb": f"{settings.WEB_IMPORT_MAX_BYTES / 1_000_000:g}"})


IMPORT_ENCODINGS = [("", _("Detect")), ("utf-8", "UTF-8"), ("windows-1251", "Windows-1251")]


class CsvImportKeptForm(forms.Form):
    """"Import these rows": the file checked a moment ago, kept on the server."""

    upload = forms.CharField(widget=forms.HiddenInput, max_length=1000)
    mailing_list: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, widget=forms.HiddenInput)
    encoding = forms.ChoiceField(choices=IMPORT_ENCODINGS, required=False,
                                 widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from subscribers.models import MailingList

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["mailing_list"].queryset = MailingList.objects.all()  # type: ignore[attr-defined]


class CsvImportForm(forms.Form):
    csv_file = forms.FileField(label=_("CSV file (UTF-8, with a header row)"))
    mailing_list: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Add everyone to the list"), queryset=None)
    encoding = forms.ChoiceField(label=_("Encoding"), required=False, choices=IMPORT_ENCODINGS,
                                 help_text=_("Leave on “Detect” unless letters came out wrong."))
    dry_run = forms.BooleanField(label=_("Check only (write nothing)"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from subscribers.models import MailingList

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["mailing_list"].queryset = MailingList.objects.order_by("name")  # type: ignore[attr-defined]

    def clean_csv_file(self) -> Any:
        upload = self.cleaned_data["csv_file"]
        if upload is not None and upload.size > settings.WEB_IMPORT_MAX_BYTES:
            raise ValidationError(import_too_big_message())
        return upload


class AudienceForm(forms.Form):
    """Step 1 of the send wizard: lists, exclusions, segment and when."""

    lists: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Send to these lists"), queryset=None, widget=forms.CheckboxSelectMultiple)
    excluded_lists: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Leave out members of these lists"), queryset=None, required=False,
        widget=forms.CheckboxSelectMultiple)
    segment: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Only people in this segment"), queryset=None, required=False,
        empty_label=_("Everyone on the lists"))
    when = forms.ChoiceField(label=_("When"), widget=forms.RadioSelect, initial="now",
                             choices=[("now", _("Now")), ("later", _("At a time"))])
    scheduled_at = forms.DateTimeField(label=_("Date and time"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    smtp_route: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("SMTP route"), queryset=None, required=False,
        empty_label=_("Default route"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        from mailer.sending.models import Route
        from subscribers.models import MailingList, Segment

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        lists = MailingList.objects.annotate(confirmed=Count(
            "subscriptions", filter=Q(subscriptions__status="confirmed"))).order_by("kind", "name")
        self.fields["lists"].queryset = lists  # type: ignore[attr-defined]
        self.fields["lists"].label_from_instance = _list_label  # type: ignore[attr-defined]
        self.fields["excluded_lists"].queryset = lists  # type: ignore[attr-defined]
        self.fields["segment"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]
        routes = Route.objects.filter(is_active=True).order_by("name")
        if routes.exists():  # the choice appears once an Admin has added a route
            self.fields["smtp_route"].queryset = routes  # type: ignore[attr-defined]
        else:
            del self.fields["smtp_route"]

    def clean(self) -> dict[str, Any]:
        from django.utils import timezone

        data: dict[str, Any] = super().clean() or {}
        if data.get("when") == "later":
            at = data.get("scheduled_at")
            if not at:
                self.add_error("scheduled_at", _("Choose the date and time to send."))
            elif at <= timezone.now():  # type: ignore[operator]
                self.add_error("scheduled_at", _("This time has passed; choose a later one "
                                                 "or send now."))
        else:
            data["scheduled_at"] = None
        overlap = set(data.get("lists") or []) & set(data.get("excluded_lists") or [])
        if overlap:
            self.add_error("excluded_lists", _("A list cannot be both chosen and left out: "
                                               "%(names)s.") % {
                "names": ", ".join(sorted(str(m) for m in overlap))})
        return data


def _list_label(mlist: Any) -> str:
    return _("%(name)s (%(kind)s, %(n)s confirmed)") % {
        "name": mlist.name, "kind": mlist.get_kind_display(), "n": mlist.confirmed}


class ConfirmForm(forms.Form):
    typed_count = forms.CharField(label=_("Type the number of recipients to confirm"),
                                  max_length=12, widget=forms.TextInput(
                                      attrs={"inputmode": "numeric", "autocomplete": "off"}))

    def __init__(self, *args: object, expected: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.expected = expected

    def clean_typed_count(self) -> int:
        raw = "".join(ch for ch in self.cleaned_data["typed_count"] if ch.isdigit())
        if not raw or int(raw) != self.expected:
            raise ValidationError(_("That is not the number of recipients. Nothing was sent; "
                                    "type the number shown above."))
        return int(raw)
