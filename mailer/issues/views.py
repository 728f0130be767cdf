"""Staff previews (desktop and phone widths) and the public web archive of sent issues
(its rules are in ``mailer.issues.archive``)."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_sameorigin

from mailer.issues.archive import (
    ARCHIVED_SEND_STATUSES,
    issue_is_public,
    public_issues,
    subscribe_list_for,
)
from mailer.issues.feed import archive_feed
from mailer.issues.models import Issue, IssueVariant
from mailer.issues.services import preview_values, variant_compiled, web_version_key
from mailer.rendering import RenderError
from mailer.web.csp import email_document

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _variant(issue: Issue, language: str) -> IssueVariant:
    variant = issue.variants.filter(language=language).first()
    if variant is None:
        raise Http404(f"issue {issue.slug!r} has no {language!r} variant")
    return variant


@staff_member_required
def issue_preview(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = get_object_or_404(Issue, pk=issue_id)
    variants = list(issue.variants.order_by("language"))
    if not variants:
        raise Http404("this issue has no variants yet")
    language = request.GET.get("lang") or issue.default_language
    variant = next((v for v in variants if v.language == language), variants[0])
    errors: list[str] = []
    warnings: list[str] = []
    try:
        variant_compiled(variant)
        variant.refresh_from_db(fields=["render_warnings"])
        warnings = list(variant.render_warnings)
    except RenderError as exc:
        errors = [f.message for f in exc.findings if f.level == "error"]
        warnings = [f.message for f in exc.findings if f.level != "error"]
    return render(request, "issues/preview.html", {
        "issue": issue, "variant": variant, "variants": variants,
        "errors": errors, "warnings": warnings, "widths": (600, 375),
    })


@staff_member_required
@xframe_options_sameorigin
def issue_preview_frame(request: HttpRequest, issue_id: int, language: str) -> HttpResponse:
    """The merged email as the iframe source of the preview page (HTML, or ?format=text)."""
    issue = get_object_or_404(Issue, pk=issue_id)
    try:
        compiled = variant_compiled(_variant(issue, language))
    except RenderError as exc:
        return HttpResponse("\n".join(str(f) for f in exc.findings), status=422,
                            content_type="text/plain; charset=utf-8")
    values = preview_values(issue, language)
    if request.GET.get("format") == "text":
        return HttpResponse(compiled.text.render(values, escape_html=False),
                            content_type="text/plain; charset=utf-8")
    return email_document(compiled.html.render(values, escape_html=True))


def _may_read(request: HttpRequest, issue: Issue, language: str) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True  # staff may look before sending
    if issue_is_public(issue):
        return True
    return _key_opens(request.GET.get("k", ""), issue, language)


def _key_opens(key: str, issue: Issue, language: str) -> bool:
    return bool(key) and secrets.compare_digest(key, web_version_key(issue.slug, language)) \
        and issue.sends.filter(status__in=ARCHIVED_SEND_STATUSES).exists()


def archive_index(request: HttpRequest) -> HttpResponse:
    """The list of public issues, in the reader's language or the one ``?lang=`` asks for."""
    wanted = request.GET.get("lang", "")
    with translation.override(wanted if wanted in LANGUAGE_CODES else translation.get_language()):
        return render(request, "issues/archive.html", {
            "issues": public_issues(), "subscribe_list": subscribe_list_for(),
            "languages": settings.LANGUAGES})


def archive_feed_view(request: HttpRequest) -> HttpResponse:
    feed = archive_feed(public_issues())
    response = HttpResponse(content_type=feed.content_type)
    feed.write(response, "utf-8")
    return response


def _readable(request: HttpRequest, slug: str, language: str) -> tuple[Issue, IssueVariant]:
    issue = get_object_or_404(Issue, slug=slug)
    if not _may_read(request, issue, language):
        raise Http404("this issue has not been published")
    return issue, _variant(issue, language)


def archive_issue(request: HttpRequest, slug: str, language: str) -> HttpResponse:
    """The web version of one variant inside the site's frame, with a language switch and
    a subscribe invitation: for anyone once public, for its recipients (the key in their
    link) once sent at all, for staff always.

    The email itself is never part of this page: the frame loads it from
    ``archive_issue_email``, served under ``EMAIL_POLICY`` (a sandbox without scripts
    and without our origin), and the iframe carries the same sandbox. The price is a
    frame of fixed height that scrolls inside: sizing it to the email would need script
    in the email or our origin for it."""
    issue, variant = _readable(request, slug, language)
    key = request.GET.get("k", "")
    keyed = not issue_is_public(issue) and _key_opens(key, issue, language)

    def href(lang: str, suffix: str = "") -> str:
        url = reverse("issues:archive-issue", args=[issue.slug, lang]) + suffix
        return f"{url}?k={web_version_key(issue.slug, lang)}" if keyed else url

    ui_language = language if language in LANGUAGE_CODES else translation.get_language()
    with translation.override(ui_language):
        return render(request, "issues/issue.html", {
            "issue": issue, "variant": variant,
            "switch": [(v.language, href(v.language)) for v in
                       sorted(issue.variants.all(), key=lambda v: v.language)],
            "email_url": href(language, "email/"),
            "subscribe_list": subscribe_list_for(issue),
        })


@xframe_options_sameorigin
def archive_issue_email(request: HttpRequest, slug: str, language: str) -> HttpResponse:
    """The email alone, as sent (under ``EMAIL_POLICY``); the issue page frames it. Its
    links open in the whole tab, not inside the frame."""
    issue, variant = _readable(request, slug, language)
    try:
        compiled = variant_compiled(variant)
    except RenderError:
        raise Http404("this issue cannot be shown") from None
    html = compiled.html.render(preview_values(issue, language), escape_html=True)
    return email_document(re.sub(r"<head([^>]*)>", r'<head\1><base target="_top">', html, count=1))
