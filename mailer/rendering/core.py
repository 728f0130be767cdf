"""First, deliberately plain version of the rendering pipeline (to be deepened)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import nh3
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from mjml import mjml2html

MERGE_FIELDS = (
    "first_name", "name", "email", "organisation",
    "unsubscribe_url", "preferences_url", "web_url",
)
MERGE_TAG = re.compile(
    r"\{\{\s*([a-z_]+)\s*(?:\|\s*default\(\s*\"([^\"{}<>]*)\"\s*\))?\s*\}\}"
)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message} [{self.code}]"


class RenderError(Exception):
    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("; ".join(f.message for f in findings))


@dataclass(frozen=True)
class IssueMeta:
    title: str = ""
    number: int | None = None
    date: dt.date | None = None
    lang: str = "en"
    subject: str = ""
    preheader: str = ""
    from_name: str = ""


@dataclass
class ParsedIssue:
    meta: IssueMeta
    body: str
    source: str


@dataclass(frozen=True)
class ChromeContext:
    site_url: str = "http://127.0.0.1:8000"
    postal_address: str = ""
    list_name: str = ""


@dataclass(frozen=True)
class MergeField:
    name: str
    default: str


@dataclass
class MergeTemplate:
    """Compiled output split once into literal text and merge fields."""

    source: str
    parts: list[str | MergeField] = field(default_factory=list)

    @classmethod
    def parse(cls, source: str) -> MergeTemplate:
        parts: list[str | MergeField] = []
        pos = 0
        for m in MERGE_TAG.finditer(source):
            if m.group(1) not in MERGE_FIELDS:
                continue
            parts.append(source[pos:m.start()])
            parts.append(MergeField(m.group(1), m.group(2) or ""))
            pos = m.end()
        parts.append(source[pos:])
        return cls(source, parts)

    def render(self, values: Mapping[str, str], *, escape_html: bool) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = values.get(part.name) or part.default
                out.append(html.escape(value, quote=True) if escape_html else value)
        return "".join(out)


@dataclass
class CompiledEmail:
    language: str
    subject: str
    preheader: str
    mjml: str
    html: MergeTemplate
    text: MergeTemplate
    findings: list[Finding]


def parse_issue(source: str) -> ParsedIssue:
    meta: dict[str, object] = {}
    body = source
    m = re.match(r"\A---\s*\n(.*?)\n---\s*\n", source, re.S)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as exc:
            raise RenderError([Finding("error", "front-matter", f"front matter is not YAML: {exc}")]) from None
        if not isinstance(loaded, dict):
            raise RenderError([Finding("error", "front-matter", "front matter must be a mapping")])
        meta = loaded
        body = source[m.end():]
    title = str(meta.get("title") or _first_heading(body) or "Newsletter")
    date = meta.get("date")
    return ParsedIssue(
        meta=IssueMeta(
            title=title,
            number=int(str(meta["number"])) if meta.get("number") is not None else None,
            date=date if isinstance(date, dt.date) else None,
            lang=str(meta.get("lang") or "en"),
            subject=str(meta.get("subject") or title),
            preheader=str(meta.get("preheader") or ""),
            from_name=str(meta.get("from_name") or ""),
        ),
        body=body,
        source=source,
    )


def _first_heading(body: str) -> str:
    m = re.search(r"^#{1,3}\s+(.+)$", body, re.M)
    return m.group(1).strip() if m else ""


def compile_issue(parsed: ParsedIssue, *, language: str, context: ChromeContext,
                  layout: str | None = None) -> CompiledEmail:
    md = MarkdownIt("commonmark").use(front_matter_plugin)
    body_html = nh3.clean(md.render(parsed.body), url_schemes={"http", "https", "mailto"})
    body_html = body_html.replace("{%", "&#123;%")
    footer = (
        f'<a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a> · '
        f'<a href="{{{{ preferences_url }}}}">Preferences</a> · '
        f'<a href="{{{{ web_url }}}}">View in browser</a><br>{html.escape(context.postal_address)}'
    )
    mjml = (
        f'<mjml lang="{language}"><mj-head><mj-title>{html.escape(parsed.meta.title)}</mj-title>'
        f"<mj-preview>{html.escape(parsed.meta.preheader)}</mj-preview></mj-head><mj-body>"
        f"<mj-section><mj-column><mj-text>{body_html}</mj-text></mj-column></mj-section>"
        f"<mj-section><mj-column><mj-text font-size=\"12px\">{footer}</mj-text></mj-column></mj-section>"
        "</mj-body></mjml>"
    )
    out = mjml2html(mjml)
    text = parsed.body + "\n\n-- \nUnsubscribe: {{ unsubscribe_url }}\nPreferences: {{ preferences_url }}\n"
    return CompiledEmail(
        language=language,
        subject=parsed.meta.subject,
        preheader=parsed.meta.preheader,
        mjml=mjml,
        html=MergeTemplate.parse(out),
        text=MergeTemplate.parse(text),
        findings=[],
    )
