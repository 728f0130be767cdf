"""Issue rendering: Markdown source -> blocks -> MJML (sandboxed Jinja2) -> HTML + text.

Public contract (used by ``mailer.issues`` and ``mailer.sending``; keep it stable):

- ``parse_issue(source) -> ParsedIssue`` — front matter + body; raises ``RenderError``.
- ``compile_issue(parsed, language=..., context=ChromeContext(...)) -> CompiledEmail`` —
  once per variant revision; raises ``RenderError`` whose ``findings`` say what is wrong.
- ``CompiledEmail.html`` / ``.text`` are ``MergeTemplate``s: compiled output with
  per-recipient merge tags (``{{ first_name }}``, ``{{ unsubscribe_url }}``...)
  still in place. ``MergeTemplate.render(values)`` fills them (HTML-escaped for HTML).

Modules: ``blocks`` (Markdown -> ``block_types``), ``inline`` (inline HTML/text, links,
sanitiser), ``mjml_build`` (Jinja2 -> MJML -> HTML), ``text_build`` (text part),
``mjml_structure`` (MJML nesting and allow-lists),
``checks`` (STANDARDS checks), ``layouts`` (custom layout validation), ``merge``.
"""

from mailer.rendering.core import (
    MERGE_FIELDS,
    BrandChrome,
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
from mailer.rendering.merge import MergeField

__all__ = [
    "MERGE_FIELDS",
    "BrandChrome",
    "ChromeContext",
    "CompiledEmail",
    "Finding",
    "IssueMeta",
    "MergeField",
    "MergeTemplate",
    "ParsedIssue",
    "RenderError",
    "compile_issue",
    "parse_issue",
]
