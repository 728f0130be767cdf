"""Issues: list, new (from Markdown), editor with live preview, media library."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mailer.engagement.report import issues_rates
from mailer.issues.duplicate import issue_duplicate
from mailer.issues.models import Issue, IssueVariant
from mailer.issues.services import issue_import
from mailer.rendering import RenderError, parse_issue
from mailer.web.access import capability_required
from mailer.web.editor import form_initial, preview_render, source_from_form
from mailer.web.forms import IssueUploadForm, MediaUploadForm, TestSendForm, VariantForm
from mailer.web.media import MediaRejected, media_markdown, media_store
from mailer.web.models import MediaAsset
from mailer.web.roles import Cap
from mailer.web.testsend import test_send_quota_take, variant_test_send

TREND_ISSUES = 6  # issues in the start page's engagement trend


@capability_required(Cap.VIEW_REPORTS)
def issue_list(request: HttpRequest) -> HttpResponse:
    issues = (Issue.objects.annotate(send_count=Count("sends", distinct=True),
                                     last_send=Max("sends__created_at"))
              .prefetch_related("variants").order_by("-updated_at", "-id"))
    rates = issues_rates([i.pk for i in issues])
    rows = [(issue, rates.get(issue.pk)) for issue in issues]
    trend = sorted(((i, r) for i, r in rows if r), key=lambda ir: -ir[0].pk)[:TREND_ISSUES]
    return render(request, "app/issue_list.html", {"issues": rows, "trend": trend})


@capability_required(Cap.EDIT_ISSUES)
def issue_new(request: HttpRequest) -> HttpResponse:
    form = IssueUploadForm(request.POST or None, request.FILES or None,
                           initial={"language": settings.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = issue_import(data["source"], language=data["language"],
                                  filename=data["filename"])
        except RenderError as exc:
            for finding in exc.findings:
                form.add_error(None, finding.message)
        else:
            if result.created:
                Issue.objects.filter(pk=result.issue.pk).update(created_by=request.user)
                messages.success(request, _("Issue created. Check the preview, then send a test."))
            else:
                messages.info(request, _("An issue with this name existed; its %(lang)s text "
                                         "was updated.") % {"lang": data["language"]})
            return redirect("web:issue-edit", pk=result.issue.pk)
    latest = Issue.objects.order_by("-date", "-id").first()
    return render(request, "app/issue_new.html", {"form": form, "latest": latest})


@require_POST
@capability_required(Cap.EDIT_ISSUES)
def issue_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft from an earlier issue (number + 1, today's date, every language)."""
    original = get_object_or_404(Issue, pk=pk)
    copy = issue_duplicate(original, user=request.user)
    messages.success(request, _("A new draft, №%(number)s, was started from “%(title)s”. Change "
                                "its text, then preview and send a test.")
                     % {"number": copy.number or "—", "title": original.title})
    return redirect("web:issue-edit", pk=copy.pk)


def _variant_source(issue: Issue, language: str) -> tuple[IssueVariant | None, str]:
    """The variant in ``language`` and its source; a new language starts from the default's."""
    variants = {v.language: v for v in issue.variants.all()}
    if language in variants:
        return variants[language], variants[language].source_markdown
    base = variants.get(issue.default_language) or next(iter(variants.values()), None)
    return None, base.source_markdown if base else f"---\ntitle: {issue.title}\n---\n"


def _issue_header_update(issue: Issue, source: str, language: str) -> None:
    """Title, number and date of the issue follow its default-language text."""
    if language != issue.default_language:
        return
    meta = parse_issue(source).meta
    Issue.objects.filter(pk=issue.pk).update(title=meta.title, number=meta.number, date=meta.date)


def _language(issue: Issue, requested: str | None) -> str:
    """A UI language or one the issue already has; anything else means the default."""
    if requested and (requested in dict(settings.LANGUAGES)
                      or issue.variants.filter(language=requested).exists()):
        return requested
    return issue.default_language


@capability_required(Cap.EDIT_ISSUES)
def issue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    issue = get_object_or_404(Issue, pk=pk)
    language = _language(issue, request.GET.get("lang"))
    variant, source = _variant_source(issue, language)
    form = VariantForm(request.POST or None, initial=form_initial(source))
    if request.method == "POST" and form.is_valid():
        source = source_from_form(source, form.front_matter(), form.cleaned_data["body"],
                                  language=language)
        try:
            issue_import(source, language=language, slug=issue.slug)
            _issue_header_update(issue, source, language)
        except RenderError as exc:
            for finding in exc.findings:
                form.add_error(None, finding.message)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{request.path}?lang={language}")
    codes = dict(settings.LANGUAGES)
    existing = set(issue.variants.values_list("language", flat=True))
    return render(request, "app/issue_edit.html", {
        "issue": issue, "variant": variant, "language": language, "form": form,
        "preview": preview_render(source, language=language,
                                  email=getattr(request.user, "email", "")),
        "languages": [(code, codes.get(code, code)) for code in sorted({*codes, *existing})],
        "existing": existing, "media_form": MediaUploadForm(),
        "test_form": TestSendForm(initial={"include_me": True, "language": language}),
        "assets": MediaAsset.objects.all()[:12],
    })


@require_POST
@capability_required(Cap.EDIT_ISSUES)
def issue_render(request: HttpRequest, pk: int) -> JsonResponse:
    """The live preview: compile the editor's unsaved fields, answer HTML, text, findings."""
    issue = get_object_or_404(Issue, pk=pk)
    language = _language(issue, request.POST.get("lang"))
    _variant, source = _variant_source(issue, language)
    form = VariantForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"ok": False, "html": "", "text": "", "findings": [
            {"level": "error", "code": "form", "message": f"{name}: {' '.join(str(e) for e in errs)}"}
            for name, errs in form.errors.items()]})
    source = source_from_form(source, form.front_matter(), form.cleaned_data["body"],
                              language=language)
    return JsonResponse(preview_render(source, language=language,
                                       email=getattr(request.user, "email", "")).as_json())


@capability_required(Cap.EDIT_ISSUES)
def media_library(request: HttpRequest) -> HttpResponse:
    form = MediaUploadForm(request.POST or None, request.FILES or None)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "POST" and form.is_valid():
        try:
            asset = media_store(form.cleaned_data["image"], alt_text=form.cleaned_data["alt_text"],
                                user=request.user)
        except MediaRejected as exc:
            form.add_error("image", str(exc))
        else:
            if wants_json:
                return JsonResponse({"url": asset.file.url, "markdown": media_markdown(asset)},
                                    status=201)
            messages.success(request, _("Image uploaded. Copy its Markdown into the issue."))
            return redirect("web:media")
    if request.method == "POST" and wants_json:
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    assets: list[Any] = [(a, media_markdown(a)) for a in MediaAsset.objects.all()[:100]]
    return render(request, "app/media.html", {"form": form, "assets": assets})


@require_POST
@capability_required(Cap.SEND_ISSUES)
def issue_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Mail the saved version to the user and up to 10 named addresses."""
    issue = get_object_or_404(Issue, pk=pk)
    form = TestSendForm(request.POST)
    back = redirect(f"{reverse('web:issue-edit', args=[issue.pk])}?lang={request.POST.get('language', '')}")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
        return back
    addresses = list(form.cleaned_data["addresses"])
    own = getattr(request.user, "email", "")
    if form.cleaned_data["include_me"]:
        if not own:
            messages.error(request, _("Your account has no email address; ask an Admin to add "
                                      "one, or type your address below."))
            return back
        addresses.insert(0, own)
    addresses = list(dict.fromkeys(addresses))
    if not addresses:
        messages.error(request, _("Nobody to send to: tick your own address or type one."))
        return back
    variant = issue.variants.filter(language=form.cleaned_data["language"]).first()
    if variant is None:
        messages.error(request, _("Save this language version first; tests send the saved text."))
        return back
    if not test_send_quota_take(int(request.user.pk or 0), len(addresses)):
        messages.error(request, _("Not sent: you have sent %(n)s test messages in the last hour, "
                                  "the most allowed. Nothing was mailed; try again later or ask "
                                  "an Admin to raise TEST_SEND_LIMIT_PER_HOUR.")
                       % {"n": settings.TEST_SEND_LIMIT_PER_HOUR})
        return back
    try:
        report = variant_test_send(variant, addresses,
                                   sender_name=getattr(request.user, "get_full_name", str)())
    except RenderError as exc:
        messages.error(request, _("The issue cannot be rendered: %(why)s") % {"why": exc})
        return back
    if report.accepted:
        messages.success(request, _("Test sent to %(list)s.") % {"list": ", ".join(report.accepted)})
    for address, why in report.refused:
        messages.error(request, _("Not sent to %(address)s: %(why)s") % {"address": address,
                                                                       "why": why})
    return back
