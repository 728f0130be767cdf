"""Issue rendering: Markdown source -> blocks -> MJML (sandboxed Jinja2) -> HTML + text.

Public contract (used by ``mailer.issues`` and ``mailer.sending``; keep it stable):

- ``parse_issue(source) -> ParsedIssue`` — front matter + body; raises ``RenderError``.
- ``compile_issue(parsed, language=..., context=ChromeContext(...)) -> CompiledEmail`` —
  once per variant revision; raises ``RenderError`` whose ``findings`` say what is wrong.
- ``CompiledEmail.html`` / ``.text`` are ``MergeTemplate``s: compiled output with
  per-recipient merge tags (``{{ first_name }}``, ``{{ unsubscribe_url }}``...)
  still in place. ``MergeTemplate.render(values)`` fills them (HTML-escaped for HTML).
"""

from mailer.rendering.core import (
    MERGE_FIELDS,
    ChromeContext,
    CompiledEmail,
    Finding,
    IssueMeta,
    MergeTemplate,
    ParsedIssue,
    RenderError,
    compile_issue,
    parse_issue,
)

__all__ = [
    "MERGE_FIELDS",
    "ChromeContext",
    "CompiledEmail",
    "Finding",
    "IssueMeta",
    "MergeTemplate",
    "ParsedIssue",
    "RenderError",
    "compile_issue",
    "parse_issue",
]
