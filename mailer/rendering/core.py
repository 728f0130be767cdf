"""The rendering pipeline's public contract and its one entry point, ``compile_issue``.

Source (CommonMark + YAML front matter + ``:::`` blocks) -> blocks -> MJML via
sandboxed Jinja2 templates -> HTML via mjml-python; the text part comes from the
same blocks. Merge tags stay literal in the output for the per-recipient merge.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.conf import settings
from django.utils import translation
from markupsafe import Markup

from mailer.rendering.block_types import Block, Paragraph, Prose
from mailer.rendering.blocks import BlockBuilder
from mailer.rendering.checks import (
    dedupe,
    html_findings,
    subject_findings,
    template_syntax_findings,
)
from mailer.rendering.findings import Finding, RenderError, errors_in
from mailer.rendering.html_safety import html_sanitise
from mailer.rendering.limits import source_size_check
from mailer.rendering.merge import MERGE_FIELDS, MergeField, MergeShield, MergeTemplate
from mailer.rendering.mjml_build import (
    blocks_mjml,
    date_display,
    email_environment,
    layout_mjml,
    merge_tags,
    mjml_to_html,
    preheader_hidden,
)
from mailer.rendering.text_build import document_text

__all__ = [
    "MERGE_FIELDS", "BrandChrome", "ChromeContext", "CompiledEmail", "Finding", "IssueMeta", "MergeField",
    "MergeTemplate", "ParsedIssue", "RenderError", "compile_issue", "parse_issue",
]

FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
PREHEADER_MAX = 130


@dataclass(frozen=True)
class IssueMeta:
    title: str = ""
    number: int | None = None
    date: dt.date | None = None
    lang: str = "en"
    subject: str = ""
    preheader: str = ""
    from_name: str = ""
    layout: str = ""  # name of a staff-uploaded LayoutTemplate; "" = the default layout


@dataclass
class ParsedIssue:
    meta: IssueMeta
    body: str
    source: str
    body_first_line: int = 1  # line of the source where ``body`` starts (for messages)


@dataclass(frozen=True)
class BrandChrome:
    """The organisation's brand as the email chrome uses it (``mailer.brand`` builds it).
    The defaults are the look from before brands existed."""

    name: str = ""  # organisation name in the variant's language; "" shows none
    logo_url: str = ""  # absolute; "" shows none
    logo_width: int = 0
    logo_height: int = 0
    primary: str = "#0033a0"  # masthead, headings, links, buttons (white text on it)
    accent: str = "#418fde"  # sub-headings, quote bars
    on_primary_muted: str = "#cfe0ff"  # the issue label on the masthead
    primary_dark: str = "#001a52"  # the masthead in dark mode
    social: tuple[tuple[str, str, str], ...] = ()  # (label, https URL, icon name)

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "logo_url": self.logo_url, "logo_width": self.logo_width,
                "logo_height": self.logo_height, "primary": self.primary,
                "accent": self.accent, "on_primary_muted": self.on_primary_muted,
                "primary_dark": self.primary_dark,
                "social": [{"label": label, "url": url, "network": network}
                           for label, url, network in self.social]}


@dataclass(frozen=True)
class ChromeContext:
    site_url: str = "http://127.0.0.1:8000"
    postal_address: str = ""
    list_name: str = ""
    brand: BrandChrome = field(default_factory=BrandChrome)


@dataclass
class CompiledEmail:
    language: str
    subject: str
    preheader: str
    mjml: str
    html: MergeTemplate
    text: MergeTemplate
    findings: list[Finding] = field(default_factory=list)


def _front_matter_error(message: str) -> RenderError:
    return RenderError([Finding("error", "front-matter", message)])


def parse_issue(source: str) -> ParsedIssue:
    """Split front matter from the body. Raises ``RenderError`` on bad front matter or a
    source larger than ``limits.MAX_SOURCE_BYTES`` (refused before any parsing)."""
    source_size_check(source)
    source = source.replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    body, first_line = source, 1
    m = FRONT_MATTER.match(source)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as exc:
            raise _front_matter_error(f"front matter is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise _front_matter_error("front matter must be 'key: value' lines")
        meta = loaded
        body = source[m.end():]
        first_line = source.count("\n", 0, m.end()) + 1
    return ParsedIssue(meta=_meta(meta, body), body=body, source=source,
                       body_first_line=first_line)


def _meta(meta: dict[str, Any], body: str) -> IssueMeta:
    title = str(meta.get("title") or _first_heading(body) or "Newsletter").strip()
    number = meta.get("number")
    if number is not None and not re.fullmatch(r"\d+", str(number).strip()):
        raise _front_matter_error(f"number: {number!r} is not a whole number")
    date = meta.get("date")
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date.strip())
        except ValueError:
            raise _front_matter_error(f"date: {date!r} is not a date like 2020-07-10") from None
    lang = str(meta.get("lang") or "en").strip()
    if not LANGUAGE_CODE.match(lang):
        raise _front_matter_error(f"lang: {lang!r} is not a language code like en or ru")
    return IssueMeta(
        title=title,
        number=int(str(number).strip()) if number is not None else None,
        date=date if isinstance(date, dt.date) else None,
        lang=lang,
        subject=str(meta.get("subject") or title).strip(),
        preheader=" ".join(str(meta.get("preheader") or "").split()),
        from_name=str(meta.get("from_name") or "").strip(),
        layout=str(meta.get("layout") or "").strip(),
    )


def _first_heading(body: str) -> str:
    m = re.search(r"^#{1,3}\s+(.+)$", body, re.M)
    return m.group(1).strip() if m else ""


def preheader_derived(blocks: list[Block]) -> str:
    """A preheader from the first paragraphs, when the author gave none."""
    words: list[str] = []
    for block in blocks:
        if not isinstance(block, Prose):
            continue
        for flow in block.blocks:
            if isinstance(flow, Paragraph):
                words += flow.content.text.split()
            if len(" ".join(words)) >= 60:
                break
    text = " ".join(words)
    if len(text) <= PREHEADER_MAX:
        return text
    return text[:PREHEADER_MAX - 1].rsplit(" ", 1)[0] + "…"


def compile_issue(parsed: ParsedIssue, *, language: str, context: ChromeContext,
                  layout: str | None = None, layout_name: str = "custom layout") -> CompiledEmail:
    """Compile one variant. Raises ``RenderError`` if any finding is an error;
    warnings are returned in ``CompiledEmail.findings``."""
    shield = MergeShield()
    findings: list[Finding] = []
    body, problems = shield.protect(parsed.body, first_line=parsed.body_first_line)
    findings += [Finding("error", "template-code", p.message("issue")) for p in problems]
    protected: dict[str, str] = {}  # front matter with merge tags shielded, for the chrome
    for name in ("title", "subject", "preheader"):
        protected[name], problems = shield.protect(getattr(parsed.meta, name))
        findings += [Finding("error", "template-code", p.message(f"front matter {name}:"))
                     for p in problems]
    builder = BlockBuilder(context.site_url, first_line=parsed.body_first_line)
    blocks = builder.build(body)
    findings += builder.findings
    if errors_in(findings):
        raise RenderError(dedupe(findings))
    preheader = protected["preheader"] or preheader_derived(blocks)
    values = _template_values(parsed, language=language, context=context, preheader=preheader)
    values["title"] = protected["title"]
    env = email_environment()
    with translation.override(language):
        values["content"] = blocks_mjml(blocks, env=env, context=values)
        mjml = shield.restore(layout_mjml(values, env=env, layout=layout, layout_name=layout_name))
        text = shield.restore(document_text(
            masthead=[protected["title"], values["issue_label"]],
            blocks=blocks, footer=_text_footer(context)))
    template_name = layout_name if layout else "layout.mjml.j2"
    html, unsafe = html_sanitise(preheader_hidden(mjml_to_html(mjml, template_name=template_name)),
                                 template_name=template_name)
    findings += unsafe
    findings += html_findings(html, language=language, site_url=context.site_url,
                              alt_reported=builder.policy.alt_filled)
    findings += subject_findings(parsed.meta.subject)
    findings += template_syntax_findings(html, part="HTML")
    findings += template_syntax_findings(text, part="text")
    findings = dedupe(findings)
    if errors_in(findings):
        raise RenderError(findings)
    return CompiledEmail(language=language, subject=parsed.meta.subject,
                         preheader=shield.restore_plain(preheader),
                         mjml=mjml, html=MergeTemplate.parse(html),
                         text=MergeTemplate.parse(text), findings=findings)


def _template_values(parsed: ParsedIssue, *, language: str, context: ChromeContext,
                     preheader: str) -> dict[str, Any]:
    meta = parsed.meta
    with translation.override(language):
        parts = []
        if meta.number is not None:
            parts.append(translation.gettext("Issue №%(number)s") % {"number": meta.number})
        if meta.date:
            parts.append(date_display(meta.date, language))
    site = context.site_url.rstrip("/")
    return {
        **merge_tags(),
        "lang": language,
        "title": meta.title,
        "subject": meta.subject,
        "preheader": preheader,
        "from_name": meta.from_name,
        "issue_label": ", ".join(parts),
        "site_url": site,
        "icon_base": f"{site}{settings.STATIC_URL}issues/social/",
        "postal_address": context.postal_address,
        "list_name": context.list_name,
        "brand": context.brand.values(),
        "content": Markup(""),
    }


def _text_footer(context: ChromeContext) -> list[str]:
    tags = {name: MergeField(name, "").tag for name in MERGE_FIELDS}
    brand = context.brand
    return [
        f"{translation.gettext('View in browser')}: {tags['web_url']}",
        f"{translation.gettext('Manage preferences')}: {tags['preferences_url']}",
        f"{translation.gettext('Unsubscribe')}: {tags['unsubscribe_url']}",
        *[f"{label}: {url}" for label, url, _network in brand.social],
        *([brand.name] if brand.name else []),
        context.postal_address,
    ]


def sample_layout_mjml(layout: str, *, name: str) -> str:
    """``layout`` rendered with a small sample issue, for validating uploaded layouts."""
    sample = parse_issue("---\ntitle: Sample\n---\n## Heading\n\nA paragraph of sample text.\n")
    blocks = BlockBuilder("https://example.org").build(sample.body)
    values = _template_values(sample, language="en", context=ChromeContext(postal_address="-"),
                              preheader="A sample preheader of a reasonable length for inboxes.")
    env = email_environment()
    values["content"] = blocks_mjml(blocks, env=env, context=values)
    return layout_mjml(values, env=env, layout=layout, layout_name=name)
