"""Per-recipient merge tags: the only template syntax that survives compilation.

Compiled HTML and text keep merge tags literally (``{{ first_name }}``,
``{{ first_name|default("friend") }}``); the sending code re-parses them with
``MergeTemplate.parse`` and fills them once per recipient. Authors may use the
same tags in their Markdown; any other ``{{ ... }}`` or ``{% ... %}`` is refused,
never evaluated.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

MERGE_FIELDS = (
    "first_name", "name", "email", "organisation",
    "unsubscribe_url", "preferences_url", "web_url",
)
MERGE_TAG = re.compile(
    r"\{\{\s*([a-z_]+)\s*(?:\|\s*default\(\s*\"([^\"{}<>]*)\"\s*\))?\s*\}\}"
)
# Anything that a template engine might read as code: expressions, statements, comments.
TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


@dataclass(frozen=True)
class MergeField:
    name: str
    default: str

    @property
    def tag(self) -> str:
        """The canonical source form, as ``MergeTemplate.parse`` reads it back."""
        if self.default:
            return f'{{{{ {self.name}|default("{self.default}") }}}}'
        return f"{{{{ {self.name} }}}}"


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


@dataclass(frozen=True)
class TemplateSyntaxProblem:
    line: int
    snippet: str

    def message(self, where: str) -> str:
        return (
            f"{where} line {self.line}: {self.snippet!r} is template code, which issues may not "
            f"contain; only merge tags are allowed: "
            + ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS)
            + ' (optionally with |default("text")). Remove it or write it without braces.'
        )


class MergeShield:
    """Swaps authors' merge tags for inert placeholders while Markdown, the sanitiser,
    Jinja2 and MJML run, then puts canonical merge tags back.

    Placeholders are plain alphanumerics with a per-compilation nonce, so Markdown
    escaping, URL normalisation and nh3 leave them alone and an author cannot forge one.
    """

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(4)
        self.fields: list[MergeField] = []

    def protect(self, text: str, *, first_line: int = 1) -> tuple[str, list[TemplateSyntaxProblem]]:
        problems: list[TemplateSyntaxProblem] = []
        out: list[str] = []
        pos = 0
        for m in MERGE_TAG.finditer(text):
            if m.group(1) not in MERGE_FIELDS:
                continue
            out.append(text[pos:m.start()])
            out.append(self._placeholder(MergeField(m.group(1), m.group(2) or "")))
            pos = m.end()
        out.append(text[pos:])
        protected = "".join(out)
        for m in TEMPLATE_SYNTAX.finditer(protected):
            line = first_line + protected.count("\n", 0, m.start())
            end = protected.find("\n", m.start())
            snippet = protected[m.start(): end if end != -1 else None][:60]
            problems.append(TemplateSyntaxProblem(line, self.restore(snippet)))
        return protected, problems

    def _placeholder(self, merge_field: MergeField) -> str:
        self.fields.append(merge_field)
        return f"mf{self.nonce}x{len(self.fields) - 1}z"

    def restore(self, text: str) -> str:
        if not self.fields:
            return text
        pattern = re.compile(rf"mf{self.nonce}x(\d+)z")
        return pattern.sub(lambda m: self.fields[int(m.group(1))].tag, text)

    def restore_plain(self, text: str) -> str:
        """Placeholders -> the field's default (for derived values such as the preheader)."""
        pattern = re.compile(rf"mf{self.nonce}x(\d+)z")
        return pattern.sub(lambda m: self.fields[int(m.group(1))].default, text)


def unresolved_template_syntax(text: str) -> list[str]:
    """Template syntax left in ``text`` once valid merge tags are taken out."""
    stripped = MERGE_TAG.sub(
        lambda m: "" if m.group(1) in MERGE_FIELDS else m.group(0), text
    )
    found = []
    for m in TEMPLATE_SYNTAX.finditer(stripped):
        found.append(stripped[max(0, m.start() - 20): m.end() + 30])
    return found
