"""The issue editor's model of a source: front matter as form fields + a Markdown body,
and the unsaved preview (compiled exactly as a send would, then merged with sample values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mailer.issues.services import chrome_context, layout_for
from mailer.rendering import Finding, RenderError, compile_issue, parse_issue
from mailer.rendering.core import FRONT_MATTER


def source_split(source: str) -> tuple[dict[str, Any], str]:
    """(front matter as a dict, body). Front matter that is not a mapping is left in
    the body, where the preview reports it, rather than silently dropped."""
    source = source.replace("\r\n", "\n")
    m = FRONT_MATTER.match(source)
    if not m:
        return {}, source
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return {}, source
    if not isinstance(meta, dict):
        return {}, source
    return meta, source[m.end():].lstrip("\n")


def source_join(meta: dict[str, Any], body: str) -> str:
    """Front matter + body. Keys the form does not edit (layout, lang…) are kept."""
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).strip()
    return f"---\n{head}\n---\n\n{body.replace(chr(13) + chr(10), chr(10)).lstrip(chr(10))}"


EDITED_KEYS = ("title", "number", "date", "subject", "preheader", "from_name")


def source_from_form(old_source: str, front_matter: dict[str, Any], body: str, *,
                     language: str) -> str:
    """The new source: the editor's fields replace theirs (a cleared field is removed),
    other front-matter keys of ``old_source`` are kept."""
    meta, _old_body = source_split(old_source)
    for key in EDITED_KEYS:
        meta.pop(key, None)
    meta.update(front_matter)
    meta["lang"] = language
    return source_join(meta, body)


def form_initial(source: str) -> dict[str, Any]:
    meta, body = source_split(source)
    initial = {key: meta.get(key) for key in EDITED_KEYS if meta.get(key) is not None}
    if "title" not in initial:
        try:
            initial["title"] = parse_issue(source).meta.title
        except RenderError:
            pass
    initial["body"] = body
    return initial


# What the preview shows where the sender fills in per-recipient values.
def sample_values(email: str) -> dict[str, str]:
    return {"first_name": "Aida", "name": "Aida Bekova", "email": email or "aida@example.org",
            "organisation": "Example NGO", "unsubscribe_url": "#unsubscribe",
            "preferences_url": "#preferences", "web_url": "#web-version"}


@dataclass
class Preview:
    html: str = ""
    text: str = ""
    subject: str = ""
    preheader: str = ""
    size_bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    ok: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "html": self.html, "text": self.text, "subject": self.subject,
                "preheader": self.preheader, "size_bytes": self.size_bytes,
                "findings": [{"level": f.level, "code": f.code, "message": f.message}
                             for f in self.findings]}


def preview_render(source: str, *, language: str, email: str = "") -> Preview:
    """Compile ``source`` (not saved) for ``language``; errors come back as findings."""
    try:
        parsed = parse_issue(source)
        layout, layout_name = layout_for(parsed)  # the preview shows the layout a send uses
        compiled = compile_issue(parsed, language=language, context=chrome_context(language),
                                 layout=layout, layout_name=layout_name)
    except RenderError as exc:
        return Preview(findings=exc.findings, ok=False)
    values = sample_values(email)
    html = compiled.html.render(values, escape_html=True)
    return Preview(html=html, text=compiled.text.render(values, escape_html=False),
                   subject=compiled.subject, preheader=compiled.preheader,
                   size_bytes=len(html.encode()), findings=compiled.findings)
