"""Issue domain: import from Markdown, edit variants, compile once per revision."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from mailer.issues.models import Issue, IssueVariant
from mailer.rendering import ChromeContext, CompiledEmail, MergeTemplate, compile_issue, parse_issue

VARIANT_SUFFIX = re.compile(r"\.([a-z]{2})\.md$")


@dataclass
class ImportResult:
    issue: Issue
    variant: IssueVariant
    created: bool


def issue_import(source: str, *, language: str | None = None, slug: str | None = None,
                 filename: str = "") -> ImportResult:
    """Store ``source`` as a variant of an issue. Re-importing the same slug and
    language updates the variant (and bumps its revision only if the text changed)."""
    parsed = parse_issue(source)
    lang = language or parsed.meta.lang or settings.LANGUAGE_CODE
    key = slug or _slug_for(parsed.meta.number, parsed.meta.title, filename)
    with transaction.atomic():
        issue, created = Issue.objects.get_or_create(
            slug=key,
            defaults={
                "title": parsed.meta.title,
                "number": parsed.meta.number,
                "date": parsed.meta.date,
                "default_language": lang,
            },
        )
        variant, _ = IssueVariant.objects.get_or_create(
            issue=issue, language=lang,
            defaults={"source_markdown": source, "subject": parsed.meta.subject,
                      "preheader": parsed.meta.preheader, "from_name": parsed.meta.from_name},
        )
        if variant.source_markdown != source:
            variant.source_markdown = source
            variant.subject = parsed.meta.subject
            variant.preheader = parsed.meta.preheader
            variant.from_name = parsed.meta.from_name
            variant.revision += 1
            variant.save()
    return ImportResult(issue, variant, created)


def _slug_for(number: int | None, title: str, filename: str) -> str:
    base = VARIANT_SUFFIX.sub("", filename.rsplit("/", 1)[-1]).removesuffix(".md")
    if base:
        return slugify(base)[:100]
    return slugify(f"{number or ''} {title}")[:100] or "issue"


def chrome_context() -> ChromeContext:
    return ChromeContext(site_url=settings.SITE_URL, postal_address=settings.POSTAL_ADDRESS)


def variant_compiled(variant: IssueVariant) -> CompiledEmail:
    """The compiled email of ``variant`` at its current revision, compiling and caching
    it if the cache is stale. Raises ``RenderError`` if the issue cannot be rendered."""
    if variant.compiled_revision == variant.revision and variant.compiled_html:
        return CompiledEmail(
            language=variant.language,
            subject=variant.subject,
            preheader=variant.preheader,
            mjml="",
            html=MergeTemplate.parse(variant.compiled_html),
            text=MergeTemplate.parse(variant.compiled_text),
            findings=[],
        )
    compiled = compile_issue(parse_issue(variant.source_markdown), language=variant.language,
                             context=chrome_context())
    IssueVariant.objects.filter(pk=variant.pk, revision=variant.revision).update(
        compiled_html=compiled.html.source,
        compiled_text=compiled.text.source,
        compiled_revision=variant.revision,
        compiled_at=timezone.now(),
        render_warnings=[str(f) for f in compiled.findings],
    )
    return compiled


def variant_for_language(issue: Issue, language: str) -> IssueVariant:
    """The recipient's language variant, else the issue's default language."""
    variants = {v.language: v for v in issue.variants.all()}
    return variants.get(language) or variants.get(issue.default_language) or next(iter(variants.values()))
