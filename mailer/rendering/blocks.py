"""Markdown body -> a flat list of blocks (``block_types``) for the MJML and text builders.

Plain CommonMark gives prose, lists, quotes and images; ``::: name key="value"``
containers add what newsletters need (see docs/issue-format.md): photo, stats,
callout, button, contacts, social.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.container import container_plugin

from mailer.rendering.block_types import (
    Block,
    BulletList,
    Button,
    Callout,
    Code,
    Contact,
    Contacts,
    Divider,
    Flow,
    Heading,
    ListItem,
    Paragraph,
    Photo,
    Prose,
    Quote,
    RawHtml,
    Social,
    SocialLink,
    Stat,
    Stats,
)
from mailer.rendering.findings import Finding
from mailer.rendering.inline import (
    Inline,
    LinkPolicy,
    html_to_text,
    inline_render,
    inline_source,
    markdown_parser,
    raw_html_alt_fill,
    sanitise,
)

ATTRIBUTE = re.compile(r'([a-z][a-z_-]*)\s*=\s*"([^"]*)"')
SOCIAL_NETWORKS = ("facebook", "instagram", "linkedin", "telegram", "twitter", "x", "youtube")


CONTAINERS = ("photo", "stats", "callout", "button", "contacts", "social")


def blocks_parser() -> MarkdownIt:
    md = markdown_parser()
    md.use(container_plugin, "block", validate=lambda params, *args: True)
    return md


class BlockBuilder:
    """Walks markdown-it tokens once; ``findings`` collects problems with source lines."""

    def __init__(self, site_url: str, *, first_line: int = 1) -> None:
        self.md = blocks_parser()
        self.policy = LinkPolicy(site_url)
        self.first_line = first_line
        self._inner: list[Token] = []

    @property
    def findings(self) -> list[Finding]:
        return self.policy.findings

    def build(self, body: str) -> list[Block]:
        tokens = self.md.parse(body)
        blocks: list[Block] = []
        for item in self._items(tokens):
            if isinstance(item, Heading | Paragraph | BulletList | Quote | Code | RawHtml):
                if blocks and isinstance(blocks[-1], Prose):
                    blocks[-1].blocks.append(item)
                else:
                    blocks.append(Prose([item]))
            else:
                blocks.append(item)
        return blocks

    def _line(self, tok: Token) -> int:
        return self.first_line + (tok.map[0] if tok.map else 0)

    def _items(self, tokens: list[Token]) -> list[Flow | Block]:
        out: list[Flow | Block] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            end = _close_index(tokens, i)
            inner = tokens[i + 1:end]
            if tok.type == "container_block_open":
                block = self._container(tok, inner)
                if block is not None:
                    out.append(block)
            elif tok.type == "paragraph_open":
                out.append(self._paragraph(tok, inner[0]))
            elif tok.type == "heading_open":
                out.append(Heading(int(tok.tag[1]), self._inline(inner[0])))
            elif tok.type in ("bullet_list_open", "ordered_list_open"):
                out.append(BulletList(tok.type == "ordered_list_open", self._list_items(inner, 0)))
            elif tok.type == "blockquote_open":
                out.append(Quote([self._inline(t) for t in inner if t.type == "inline"]))
            elif tok.type in ("fence", "code_block"):
                out.append(Code(tok.content.rstrip("\n")))
            elif tok.type == "html_block":
                out.append(self._raw_html(tok))
            elif tok.type == "hr":
                out.append(Divider())
            i = end + 1
        return out

    def _inline(self, tok: Token) -> Inline:
        return inline_render(self.md, tok.children or [], self.policy, line=self._line(tok))

    def _paragraph(self, tok: Token, inline: Token) -> Flow | Photo:
        children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
        if len(children) == 1 and children[0].type == "image":
            image = children[0]
            src = self.policy.resolve(str(image.attrGet("src") or ""), line=self._line(tok),
                                      what="image")
            title = str(image.attrGet("title") or "")
            if src is not None:
                caption = [inline_source(self.md, title, self.policy, line=self._line(tok))]
                return Photo(src, image.content, None, caption if title else [])
        return Paragraph(self._inline(inline))

    def _list_items(self, tokens: list[Token], depth: int) -> list[ListItem]:
        items: list[ListItem] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            end = _close_index(tokens, i)
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                items.extend(self._list_items(tokens[i + 1:end], depth + 1))
            elif tok.type == "inline":
                items.append(ListItem(self._inline(tok), depth))
            elif tok.type == "list_item_open" or tok.type == "paragraph_open":
                i += 1
                continue
            i = end + 1
        return items

    def _raw_html(self, tok: Token) -> RawHtml:
        cleaned = sanitise(tok.content, self.policy.site_url)
        if cleaned != tok.content and re.search(r"<\s*script|\son\w+\s*=", tok.content, re.I):
            self.findings.append(Finding(
                "warning", "html-removed",
                f"line {self._line(tok)}: scripts or event handlers in the HTML were removed"))
        cleaned = raw_html_alt_fill(tok.content, cleaned, self.policy, line=self._line(tok))
        return RawHtml(Markup(cleaned), html_to_text(cleaned))  # noqa: S704 - sanitised by nh3

    def _container(self, tok: Token, inner: list[Token]) -> Block | None:
        name, _, rest = tok.info.strip().partition(" ")
        attrs = dict(ATTRIBUTE.findall(rest))
        build = {
            "photo": self._photo, "stats": self._stats, "callout": self._callout,
            "button": self._button, "contacts": self._contacts, "social": self._social,
        }.get(name.lower())
        if build is None:
            self.findings.append(Finding(
                "error", "unknown-block",
                f"line {self._line(tok)}: unknown block '::: {name}'; known blocks are "
                + ", ".join(CONTAINERS)))
            return None
        self._inner = inner
        return build(tok, attrs, self._items(inner))

    def _photo(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block | None:
        line = self._line(tok)
        if not attrs.get("src"):
            self.findings.append(Finding(
                "error", "photo-src",
                f'line {line}: a photo needs its image: ::: photo src="/media/..." alt="..."'))
            return None
        src = self.policy.resolve(attrs["src"], line=line, what="photo")
        if src is None:
            return None
        href = self.policy.resolve(attrs["href"], line=line) if attrs.get("href") else None
        caption = [b.content for b in items if isinstance(b, Paragraph)]
        return Photo(src, attrs.get("alt", ""), href, caption, attrs.get("credit", ""))

    def _split_list(self, items: list[Flow | Block]) -> tuple[list[Flow], BulletList | None,
                                                               list[Flow]]:
        before: list[Flow] = []
        after: list[Flow] = []
        found: BulletList | None = None
        for b in items:
            if isinstance(b, BulletList) and found is None:
                found = b
            elif isinstance(b, Heading | Paragraph | BulletList | Quote | Code | RawHtml):
                (after if found else before).append(b)
        return before, found, after

    def _stats(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block:
        before, found, after = self._split_list(items)
        title = attrs.get("title", "")
        if not title and before and isinstance(before[0], Heading):
            title = before[0].content.text
            before = before[1:]
        del found
        stats = [
            Stat(value, inline_source(self.md, label, self.policy, line=self._line(tok)))
            for value, label in self._pairs(tok, "stats")
        ]
        return Stats(title, before, stats, after)

    def _pairs(self, tok: Token, block: str) -> list[tuple[str, str]]:
        """``- left | right`` list items of a container, read from their Markdown source."""
        pairs = []
        for inline in _first_list_inlines(self._inner):
            left, sep, right = inline.content.partition("|")
            if not sep:
                left, sep, right = inline.content.partition(":")
            if not sep:
                self.findings.append(Finding(
                    "error", f"{block}-item",
                    f"line {self._line(inline)}: {block} item {inline.content[:40]!r} needs the "
                    "form '- left | right'"))
                continue
            pairs.append((left.strip(), right.strip()))
        return pairs

    def _callout(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block:
        body = [b for b in items
                if isinstance(b, Heading | Paragraph | BulletList | Quote | Code | RawHtml)]
        if len(body) < len(items):
            self.findings.append(Finding(
                "warning", "callout-content",
                f"line {self._line(tok)}: a callout holds text only; the photos or blocks "
                "inside it were left out. Put them after the callout."))
        return Callout(body)

    def _button(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block | None:
        if not attrs.get("href"):
            self.findings.append(Finding(
                "error", "button-href",
                f'line {self._line(tok)}: a button needs a target: ::: button href="https://..."'))
            return None
        href = self.policy.resolve(attrs["href"], line=self._line(tok))
        label = attrs.get("label") or " ".join(
            b.content.text for b in items if isinstance(b, Paragraph))
        return Button(href, label.strip()) if href else None

    def _contacts(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block:
        before, _found, after = self._split_list(items)
        title = attrs.get("title", "")
        if not title and before and isinstance(before[0], Heading):
            title = before[0].content.text
            before = before[1:]
        entries = [
            Contact(label, inline_source(self.md, content, self.policy, line=self._line(tok)))
            for label, content in self._pairs(tok, "contacts")
        ]
        return Contacts(title, before, entries, after)

    def _social(self, tok: Token, attrs: dict[str, str], items: list[Flow | Block]) -> Block:
        links = []
        for label, url in self._pairs(tok, "social"):
            href = self.policy.resolve(url.strip("<>"), line=self._line(tok))
            if href:
                network = label.lower() if label.lower() in SOCIAL_NETWORKS else "web"
                links.append(SocialLink(network, label, href))
        return Social(attrs.get("title", ""), links)


def _close_index(tokens: list[Token], i: int) -> int:
    """Index of the token closing ``tokens[i]`` (``i`` itself for self-contained tokens)."""
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _first_list_inlines(inner: list[Token]) -> list[Token]:
    """Inline tokens of the first list's top-level items among a container's tokens."""
    start = next((i for i, t in enumerate(inner)
                  if t.type in ("bullet_list_open", "ordered_list_open")), None)
    if start is None:
        return []
    item_level = inner[start].level + 1
    inlines = []
    for tok in inner[start + 1:_close_index(inner, start)]:
        if tok.type == "inline" and tok.level == item_level + 2:
            inlines.append(tok)
    return inlines
