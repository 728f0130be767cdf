"""Staff previews (desktop and phone widths) and the public web archive of sent issues."""

from __future__ import annotations

import secrets

from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from mailer.issues.models import Issue, IssueVariant
from mailer.issues.services import preview_values, variant_compiled, web_version_key
from mailer.rendering import RenderError
from mailer.sending.models import Send
from mailer.web.csp import email_document
from subscribers.models import MailingList

ARCHIVED_SEND_STATUSES = (Send.Status.DONE, Send.Status.SENDING)


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


def _public_sends() -> QuerySet[Send]:
    """Sends that make an issue public: started or done, to at least one public list or
    of an issue marked public in the archive. An issue sent only to private lists stays
    out of the archive (issue 10); its recipients open it with the key in their "View in
    browser" link."""
    return Send.objects.filter(Q(lists__visibility=MailingList.Visibility.PUBLIC)
                               | Q(issue__archive_public=True),
                               status__in=ARCHIVED_SEND_STATUSES)


def _sent_issues() -> list[Issue]:
    return list(Issue.objects.filter(sends__in=_public_sends())
                .distinct().prefetch_related("variants").order_by("-date", "-id"))


def _may_read(request: HttpRequest, issue: Issue, language: str) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True  # staff may look before sending
    if _public_sends().filter(issue=issue).exists():
        return True
    key = request.GET.get("k", "")
    return bool(key) and secrets.compare_digest(key, web_version_key(issue.slug, language)) \
        and issue.sends.filter(status__in=ARCHIVED_SEND_STATUSES).exists()


def archive_index(request: HttpRequest) -> HttpResponse:
    return render(request, "issues/archive.html", {"issues": _sent_issues()})


def archive_issue(request: HttpRequest, slug: str, language: str) -> HttpResponse:
    """The web version of one variant: for anyone once sent to a public list, for its
    recipients (the key in their link) once sent at all, for staff always."""
    issue = get_object_or_404(Issue, slug=slug)
    if not _may_read(request, issue, language):
        raise Http404("this issue has not been published")
    try:
        compiled = variant_compiled(_variant(issue, language))
    except RenderError:
        raise Http404("this issue cannot be shown") from None
    return email_document(compiled.html.render(preview_values(issue, language), escape_html=True))
