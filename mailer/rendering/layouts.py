"""Validation of staff-uploaded layout templates (MJML + Jinja2) before first use."""

from __future__ import annotations

from jinja2 import TemplateSyntaxError, meta

from mailer.rendering.core import sample_layout_mjml
from mailer.rendering.findings import Finding, RenderError
from mailer.rendering.html_safety import html_sanitise
from mailer.rendering.limits import source_size_check
from mailer.rendering.mjml_build import LAYOUT_SLOTS, email_environment, mjml_to_html
from mailer.rendering.mjml_structure import mjml_structure


def layout_validate(source: str, *, name: str) -> list[Finding]:
    """Every reason ``source`` cannot be used as a layout; an empty list means usable."""
    try:
        source_size_check(source, what=name)
    except RenderError as exc:
        return exc.findings
    env = email_environment()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [Finding("error", "template-syntax",
                        f"{name} line {exc.lineno}: Jinja2 syntax error: {exc.message}")]
    findings = [Finding("error", "layout-slot",
                        f"{name}: required slot {{{{ {slot} }}}} is missing")
                for slot in LAYOUT_SLOTS if slot not in meta.find_undeclared_variables(ast)]
    checker = mjml_structure(source)
    findings += [Finding("error", "mjml-malformed", f"{name}: {p}") for p in checker.problems]
    findings += [Finding("error", "mjml-not-allowed", f"{name}: {p}") for p in checker.unknown]
    if findings:
        return findings
    try:
        html = mjml_to_html(sample_layout_mjml(source, name=name), template_name=name)
    except RenderError as exc:
        return exc.findings
    # What the final sanitiser would remove is refused here, where staff can fix it.
    _html, unsafe = html_sanitise(html, template_name=name)
    return [Finding("error", f.code, f.message) for f in unsafe]
