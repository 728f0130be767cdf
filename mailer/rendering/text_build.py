"""Blocks -> the text/plain part, wrapped at 76 columns.

Built from the same blocks as the HTML (not by stripping it), so headings, lists,
statistics and links (``text (url)``) read naturally in a text-only client.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from mailer.rendering.block_types import (
    Block,
    BulletList,
    Button,
    Callout,
    Code,
    Contacts,
    Divider,
    Flow,
    Heading,
    Paragraph,
    Photo,
    Prose,
    Quote,
    RawHtml,
    Social,
    Stats,
)

WIDTH = 76


def wrap(text: str, *, indent: str = "", hanging: str = "") -> str:
    """Wrap each line of ``text``; long URLs are never broken."""
    lines = []
    for raw in text.split("\n"):
        if not raw.strip():
            lines.append("")
            continue
        lines.extend(textwrap.wrap(
            " ".join(raw.split()), width=WIDTH, initial_indent=indent,
            subsequent_indent=hanging or indent, break_long_words=False, break_on_hyphens=False,
        ) or [indent.rstrip()])
        indent = hanging or indent
    return "\n".join(lines)


def heading_text(text: str, level: int) -> str:
    """Level 1-2 in capitals underlined with '=', deeper levels underlined with '-'."""
    title = wrap(text.upper() if level <= 2 else text)
    if not title.strip():
        return ""
    rule = "=" if level <= 2 else "-"
    return f"{title}\n{rule * min(WIDTH, max(len(s) for s in title.splitlines()))}"


def _stat_line(value: str, label: str) -> str:
    """``value  label`` with the values right-aligned (wrap() would squeeze the spaces)."""
    pad = " " * (len(value) + 2)
    return value + "  " + wrap(label, indent=pad)[len(pad):]


def flow_text(block: Flow) -> str:
    if isinstance(block, Heading):
        return heading_text(block.content.text, block.level)
    if isinstance(block, Paragraph):
        return wrap(block.content.text)
    if isinstance(block, BulletList):
        items = []
        for n, item in enumerate(block.items, start=1):
            pad = "  " * item.depth
            marker = f"{n}. " if block.ordered and item.depth == 0 else "- "
            items.append(wrap(item.content.text, indent=pad + marker,
                              hanging=pad + " " * len(marker)))
        return "\n".join(items)
    if isinstance(block, Quote):
        return "\n\n".join(wrap(p.text, indent="> ") for p in block.paragraphs)
    if isinstance(block, Code):
        return textwrap.indent(block.text, "    ")
    if isinstance(block, RawHtml):
        return wrap(block.text)
    raise TypeError(f"not a flow block: {block!r}")


def _flows(blocks: Iterable[Flow]) -> list[str]:
    return [flow_text(b) for b in blocks]


def block_text(block: Block) -> str:
    parts: list[str] = []
    if isinstance(block, Prose):
        parts = _flows(block.blocks)
    elif isinstance(block, Photo):
        caption = " ".join([c.text for c in block.caption] + [block.credit]).strip()
        parts = [wrap("\n".join(line for line in (
            f"[{block.alt}]" if block.alt else "", caption, block.href or "") if line))]
    elif isinstance(block, Stats):
        parts = [heading_text(block.title, 3)] if block.title else []
        parts += _flows(block.intro)
        width = max((len(s.value) for s in block.items), default=0)
        parts.append("\n".join(_stat_line(s.value.rjust(width), s.label.text)
                               for s in block.items))
        parts += _flows(block.notes)
    elif isinstance(block, Callout):
        body = "\n\n".join(_flows(block.body))
        parts = ["\n".join(f"| {line}".rstrip() for line in wrap(body).splitlines())]
    elif isinstance(block, Button):
        parts = [wrap(f"{block.label}: {block.href}")]
    elif isinstance(block, Contacts):
        parts = [heading_text(block.title, 3)] if block.title else []
        parts += _flows(block.intro)
        parts.append("\n".join(wrap(f"{c.label}: {c.content.text}", hanging="  ")
                               for c in block.entries))
        parts += _flows(block.notes)
    elif isinstance(block, Social):
        lines = [f"{link.label}: {link.href}" for link in block.links]
        parts = [wrap("\n".join(([block.title] if block.title else []) + lines))]
    elif isinstance(block, Divider):
        parts = ["-" * 20]
    return "\n\n".join(p for p in parts if p)


def document_text(*, masthead: list[str], blocks: list[Block], footer: list[str]) -> str:
    head = "\n".join(wrap(line) for line in masthead if line)
    body = "\n\n".join(t for t in (block_text(b) for b in blocks) if t)
    foot = "\n".join(wrap(line, hanging="  ") for line in footer if line)
    return f"{head}\n\n{body}\n\n-- \n{foot}\n"
