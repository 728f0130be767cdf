"""Limits that keep hostile sources away from the native MJML compiler (issue 10).

mjml-python (MRML, Rust) parses and renders recursively: ~9,200 nested ``<b>`` in a
28 KB issue overflow its stack and kill the process with SIGSEGV. Measured on the
8 MB main-thread stack, it crashes between 1,000 and 2,000 nested ``mj-wrapper`` (about
4 KB of stack a level) and near 9,000 nested inline tags; in a 256 KB thread stack
(musl's default is 128 KB) already near 75 nested wrappers. Real issues nest about
20 elements deep, so ``MAX_DEPTH`` leaves a wide margin on both sides.

Markdown parsing time grows faster than linearly on some inputs (250 KB of ``[``
takes ~10 s); an email over Gmail's 102 KB clipping limit is refused anyway, so a
source is limited to the same size and is refused before it is parsed.
"""

from __future__ import annotations

import re

from mailer.rendering.findings import Finding, RenderError

MAX_SOURCE_BYTES = 100 * 1024   # an issue source (front matter + Markdown), UTF-8
MAX_LAYOUT_BYTES = 100 * 1024   # a staff-uploaded layout template
MAX_MJML_BYTES = 1024 * 1024    # the assembled MJML document given to the native compiler
MAX_DEPTH = 100                 # element nesting of that document
NATIVE_TIMEOUT_SECONDS = 20.0   # one native compile; the seed issue takes under 10 ms

# Elements that never hold children, in HTML and in MJML's "ending" tags.
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr"})
# A start or end tag. Attribute values are not parsed: a ">" inside one ends the match
# early, which can only make the depth look larger, never smaller.
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*?)(/?)>")


def source_size_check(source: str, *, what: str = "the issue") -> None:
    """Raise ``RenderError`` if ``source`` is larger than an email can be."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise RenderError([Finding(
            "error", "source-too-large",
            f"{what} is {size // 1024} KB; the limit is {MAX_SOURCE_BYTES // 1024} KB, because "
            "an email over 102 KB is clipped by Gmail. Nothing was rendered; shorten it or "
            "split it into two issues.")])


def nesting_depth(markup: str) -> int:
    """The deepest element nesting in ``markup``, counted conservatively: tags inside
    comments count too, and an element that is never closed stays open to the end
    (the native parser recurses into unclosed elements just the same)."""
    stack: list[str] = []
    deepest = 0
    for m in TAG.finditer(markup):
        closing, name, _attrs, self_closing = m.groups()
        name = name.lower()
        if closing:
            if name in stack:
                while stack.pop() != name:
                    pass
        elif not self_closing and name not in VOID:
            stack.append(name)
            deepest = max(deepest, len(stack))
    return deepest


def mjml_limits_check(mjml: str, *, template_name: str) -> None:
    """Raise ``RenderError`` if ``mjml`` is too large or too deep for the native compiler."""
    size = len(mjml.encode("utf-8", "surrogatepass"))
    if size > MAX_MJML_BYTES:
        raise RenderError([Finding(
            "error", "mjml-too-large",
            f"{template_name}: the assembled MJML is {size // 1024} KB; the limit is "
            f"{MAX_MJML_BYTES // 1024} KB. Nothing was rendered; shorten the issue or the "
            "layout.")])
    depth = nesting_depth(mjml)
    if depth > MAX_DEPTH:
        raise RenderError([Finding(
            "error", "nesting-too-deep",
            f"{template_name}: the email (issue and layout together) nests elements {depth} "
            f"levels deep; the limit is {MAX_DEPTH}. Nothing was rendered; remove the repeated "
            "inline HTML tags (for example <b><b><b>…) or nested blocks.")])
