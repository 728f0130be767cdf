"""Issue domain: import from Markdown, edit variants, compile once per revision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from mailer.issues.models import Issue, IssueVariant, LayoutTemplate
from mailer.rendering import (
    ChromeContext,
    CompiledEmail,
    Finding,
    MergeTemplate,
    ParsedIssue,
    RenderError,
    compile_issue,
    parse_issue,
)
from mailer.rendering.layouts import layout_validate

if TYPE_CHECKING:
    from mailer.brand.models import Brand

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


def chrome_context(language: str | None = None, brand: Brand | None = None) -> ChromeContext:
    """The email chrome in ``language``: the site, and the brand an Admin set (its postal
    address falls back to ``settings.POSTAL_ADDRESS``)."""
    from mailer.brand.services import brand_chrome, brand_current, brand_look

    brand = brand or brand_current()
    lang = language or settings.LANGUAGE_CODE
    return ChromeContext(site_url=settings.SITE_URL,
                         postal_address=brand_look(brand, lang).postal_address,
                         brand=brand_chrome(lang, brand))


def variant_compiled(variant: IssueVariant) -> CompiledEmail:
    """The compiled email of ``variant`` at its current revision, compiling and caching
    it if the cache is stale. Raises ``RenderError`` if the issue cannot be rendered.

    The brand is part of the compilation: ``variant.compiled_reply_to`` is the brand's
    reply-to of the same moment, so a send keeps both while the brand changes under it
    (``mailer.brand.services.brand_save`` leaves the cache of sends under way alone)."""
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
    from mailer.brand.services import brand_current

    brand = brand_current()
    compiled = variant_compile(variant, brand=brand)
    IssueVariant.objects.filter(pk=variant.pk, revision=variant.revision).update(
        compiled_html=compiled.html.source,
        compiled_text=compiled.text.source,
        compiled_revision=variant.revision,
        compiled_reply_to=brand.reply_to,
        compiled_at=timezone.now(),
        render_warnings=[str(f) for f in compiled.findings],
    )
    variant.compiled_reply_to = brand.reply_to
    return compiled


def variant_for_language(issue: Issue, language: str) -> IssueVariant:
    """The recipient's language variant, else the issue's default language."""
    variants = {v.language: v for v in issue.variants.all()}
    return variants.get(language) or variants.get(issue.default_language) or next(iter(variants.values()))


def variant_compile(variant: IssueVariant, *, brand: Brand | None = None) -> CompiledEmail:
    """Compile ``variant`` now (no cache), with its layout template if it names one."""
    parsed = parse_issue(variant.source_markdown)
    layout, layout_name = layout_for(parsed)
    return compile_issue(parsed, language=variant.language,
                         context=chrome_context(variant.language, brand),
                         layout=layout, layout_name=layout_name)


def layout_for(parsed: ParsedIssue) -> tuple[str | None, str]:
    """(layout source or None for the default, its name). Raises ``RenderError`` if the
    front matter names a layout that does not exist or is switched off."""
    if not parsed.meta.layout:
        return None, "layout.mjml.j2"
    layout = LayoutTemplate.objects.filter(name=parsed.meta.layout, is_active=True).first()
    if layout is None:
        raise RenderError([Finding(
            "error", "layout-missing",
            f"layout: {parsed.meta.layout!r} is not an active layout template; remove the line "
            "to use the default layout, or upload the layout in the admin")])
    # Checked again on use, not only in the admin form: a layout stored any other way
    # (a data migration, the shell, a restored dump) must pass the same allow-list.
    problems = layout_validate(layout.source, name=f"layout {layout.name!r}")
    if problems:
        raise RenderError(problems)
    return layout.source, f"layout {layout.name!r}"


WEB_VERSION_SALT = "mailer.issues.web-version"


def web_version_key(slug: str, language: str) -> str:
    """The key that opens the web version of an issue not shown in the public archive
    (sent only to private lists): every recipient's "View in browser" link carries it."""
    return signing.Signer(salt=WEB_VERSION_SALT).signature(f"{slug}/{language}")


def web_version_link(slug: str, language: str) -> str:
    """The web version's URL; sends, test sends and previews all use exactly this one."""
    return f"{settings.SITE_URL}/archive/{slug}/{language}/?k={web_version_key(slug, language)}"


def web_version_url(issue: Issue, language: str) -> str:
    return web_version_link(issue.slug, language)


def preview_values(issue: Issue, language: str) -> dict[str, str]:
    """Merge values for previews and the web version: no recipient, so no personal links."""
    site = settings.SITE_URL
    return {
        "first_name": "", "name": "", "email": "", "organisation": "",
        "unsubscribe_url": f"{site}/archive/", "preferences_url": f"{site}/archive/",
        "web_url": web_version_url(issue, language),
    }


def layout_changed(layout: LayoutTemplate) -> int:
    """Mark the compiled email of every variant that names ``layout`` as stale, so the
    next send or preview compiles it with the new layout. Returns how many were marked."""
    pattern = rf"(?m)^layout:\s*['\"]?{re.escape(layout.name)}['\"]?\s*$"
    return IssueVariant.objects.filter(source_markdown__regex=pattern).update(compiled_revision=0)
