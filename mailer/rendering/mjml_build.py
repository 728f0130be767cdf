"""Blocks -> MJML through sandboxed Jinja2 templates (templates/email/), then HTML.

Content reaches the templates only as values (sanitised ``Markup`` or plain text that
autoescape escapes), never as template source, so nothing an author writes is evaluated.
Merge tags in the chrome are emitted as literal ``{{ field }}`` text for the per-recipient
merge that happens after compilation.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import dateformat, translation
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markupsafe import Markup

from mailer.rendering.block_types import Block
from mailer.rendering.findings import Finding, RenderError
from mailer.rendering.limits import mjml_limits_check
from mailer.rendering.merge import MERGE_FIELDS, MergeField
from mailer.rendering.mjml_structure import mjml_structure_problems
from mailer.rendering.native import NATIVE, NativeCompilerCrashed
from mailer.rendering.sandbox import BoundedEnvironment, bounded_render

LAYOUT_TEMPLATE = "layout.mjml.j2"
LAYOUT_SLOTS = ("content", "title", "preheader", "lang", "unsubscribe_url", "preferences_url",
                "web_url", "postal_address")


def _gettext(message: str) -> str:
    return translation.gettext(message)


@functools.cache
def email_environment(template_dir: Path | None = None) -> SandboxedEnvironment:
    env = BoundedEnvironment(
        loader=FileSystemLoader(str(template_dir or settings.EMAIL_TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals["_"] = _gettext
    env.globals["gettext"] = _gettext
    return env


def merge_tags() -> dict[str, Markup]:
    """Template values that print the literal merge tag of each per-recipient field."""
    return {name: Markup(MergeField(name, "").tag)  # noqa: S704 - constant merge tags
            for name in MERGE_FIELDS}


def date_display(date: dt.date | None, language: str) -> str:
    if date is None:
        return ""
    with translation.override(language):
        return dateformat.format(date, "j E Y")


def blocks_mjml(blocks: list[Block], *, env: SandboxedEnvironment,
                context: Mapping[str, Any]) -> Markup:
    parts = []
    for block in blocks:
        template = env.get_template(f"blocks/{block.kind}.mjml.j2")
        parts.append(bounded_render(template.render, {**context, "block": block}))
    return Markup("\n".join(parts))  # noqa: S704 - output of autoescaped templates


def layout_mjml(context: Mapping[str, Any], *, env: SandboxedEnvironment,
                layout: str | None, layout_name: str = "custom layout") -> str:
    """The whole MJML document: the default layout, or staff-uploaded ``layout`` source."""
    try:
        if layout is None:
            return bounded_render(env.get_template(LAYOUT_TEMPLATE).render, context)
        return bounded_render(env.from_string(layout).render, context)
    except TemplateSyntaxError as exc:
        raise RenderError([Finding(
            "error", "template-syntax",
            f"{layout_name if layout is not None else LAYOUT_TEMPLATE} line {exc.lineno}: "
            f"{exc.message}")]) from None
    except SecurityError as exc:
        raise RenderError([Finding(
            "error", "template-unsafe",
            f"{layout_name if layout is not None else LAYOUT_TEMPLATE}: {exc}. Nothing was "
            "rendered; templates may only print the values the renderer provides, with short "
            "loops.")]) from None
    except TemplateError as exc:
        name = layout_name if layout is not None else LAYOUT_TEMPLATE
        raise RenderError([Finding(
            "error", "template-unresolved",
            f"{name}: {exc.message or exc}; the template uses a name the renderer does not "
            f"provide (available: {', '.join(sorted(context))})")]) from None


def mjml_to_html(mjml: str, *, template_name: str) -> str:
    """HTML of ``mjml``, compiled by the native compiler in its helper process after the
    limits are checked. Raises ``RenderError`` for a refusal, malformed MJML or a crash."""
    mjml_limits_check(mjml, template_name=template_name)
    try:
        ok, out = NATIVE.compile(mjml)
    except NativeCompilerCrashed as exc:
        raise RenderError([Finding(
            "error", "mjml-crashed",
            f"{template_name}: the MJML compiler {exc} while rendering this email; nothing "
            "was rendered or sent, and the service kept running. Simplify the issue (fewer "
            "nested or repeated HTML tags) or its layout and try again.")]) from None
    if ok:
        return out
    where = "; ".join(mjml_structure_problems(mjml)) or "structure could not be located"
    raise RenderError([Finding(
        "error", "mjml-malformed",
        f"{template_name}: the MJML is malformed ({out}); {where}")])


# mj-preview's hidden div, as MRML writes it, hides the preheader with white 1px text:
# white on the light page background is what SpamAssassin scores as
# HTML_FONT_LOW_CONTRAST (0.7 points; its HTML.pm flags text whose colour is within a
# weighted distance of 12 of its background), and a 0-1px font-size as __FONT_INVIS.
# Hidden by layout alone instead: no colour and no tiny font, so neither rule applies.
PREHEADER_STYLE = "display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;opacity:0;"
_PREVIEW_DIV = re.compile(r'(<body\b[^>]*>\s*<div style=")([^"]*display:none[^"]*)(")')


def preheader_hidden(html: str) -> str:
    """``html`` with the preheader div (the first thing in the body, from mj-preview)
    hidden by ``PREHEADER_STYLE`` instead of by colour."""
    return _PREVIEW_DIV.sub(lambda m: m.group(1) + PREHEADER_STYLE + m.group(3), html, count=1)
