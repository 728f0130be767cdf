"""Inline Markdown -> (sanitised HTML, plain text), with every link checked.

Both forms come from the same token stream, so the plain-text part says what the
HTML says (links as ``text (url)``) instead of being stripped from the HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from mailer.rendering.findings import Finding

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"lang", "dir", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
}
SAFE_SCHEMES = {"http", "https", "mailto"}
# Elements whose content is code, not text: nh3 drops them with their content.
HOSTILE_HTML = re.compile(r"<\s*(script|style|iframe|object|embed|form)\b|\son\w+\s*=", re.I)


@dataclass(frozen=True)
class Inline:
    """One run of inline content. ``html`` is sanitised and safe to place in markup."""

    html: Markup
    text: str


@dataclass
class LinkPolicy:
    """Resolves and judges link targets; collects findings with source lines."""

    site_url: str
    findings: list[Finding] = field(default_factory=list)
    alt_filled: set[str] = field(default_factory=set)  # src of raw-HTML images given alt=""

    def resolve(self, url: str, *, line: int, what: str = "link") -> str | None:
        """The absolute URL to use, or ``None`` if the link must become plain text."""
        url = url.strip()
        if url.startswith("mf") and re.fullmatch(r"mf[0-9a-f]+x\d+z", url):
            return url  # a merge-tag placeholder (e.g. {{ web_url }})
        if url in ("", "#") or url.startswith("#"):
            self.findings.append(Finding(
                "warning", "link-empty",
                f"line {line}: {what} target {url or '(empty)'!r} goes nowhere in an email; "
                "it is shown as plain text. Give it a full https:// address."))
            return None
        scheme = urlsplit(url).scheme.lower()
        if not scheme:
            if url.startswith("/"):
                return urljoin(self.site_url.rstrip("/") + "/", url.lstrip("/"))
            self.findings.append(Finding(
                "error", "link-relative",
                f"line {line}: {what} target {url!r} is relative; use a full https:// address "
                "or a site path starting with /"))
            return None
        if scheme not in SAFE_SCHEMES:
            self.findings.append(Finding(
                "error", "link-scheme",
                f"line {line}: {what} target {url[:60]!r} uses the {scheme}: scheme; only "
                "https://, http:// and mailto: links may be sent. The link was not rendered."))
            return None
        return url


def markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark")
    # Accept every target at parse time so that LinkPolicy can report the bad ones
    # (markdown-it would otherwise silently leave "[x](javascript:...)" as text).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


def inline_render(md: MarkdownIt, children: list[Token], policy: LinkPolicy, *,
                  line: int) -> Inline:
    children = _links_checked(children, policy, line)
    raw_html = md.renderer.renderInline(children, md.options, {})  # type: ignore[attr-defined]
    if HOSTILE_HTML.search(raw_html):
        policy.findings.append(Finding(
            "warning", "html-removed",
            f"line {line}: scripts, styles, frames or event handlers in the HTML were removed"))
    cleaned = raw_html_alt_fill(raw_html, sanitise(raw_html, policy.site_url), policy,
                                line=line)
    # Markup only after nh3 has sanitised the fragment.
    return Inline(Markup(cleaned), _text(children))  # noqa: S704


def inline_source(md: MarkdownIt, source: str, policy: LinkPolicy, *, line: int) -> Inline:
    tokens = md.parseInline(source.strip())
    return inline_render(md, tokens[0].children or [] if tokens else [], policy, line=line)


def sanitise(fragment: str, site_url: str = "") -> str:
    """Staff HTML with only harmless tags and attributes left; site paths made absolute."""

    def absolute(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src") and value.startswith("/") and not value.startswith("//"):
            return urljoin(site_url.rstrip("/") + "/", value.lstrip("/")) if site_url else value
        return value

    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=SAFE_SCHEMES, link_rel=None, strip_comments=True,
                     attribute_filter=absolute)


class _ImagesWithoutAlt(HTMLParser):
    """(line offset, src) of each <img> with no alt attribute at all, as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and all(name != "alt" for name, _ in attrs):
            self.found.append((self.getpos()[0] - 1, dict(attrs).get("src") or ""))


# An <img> tag as nh3 writes it: every attribute value double-quoted, quotes escaped.
_SANITISED_IMG = re.compile(r'<img((?:\s+[^\s="\'<>/]+(?:="[^"]*")?)*)\s*/?>')
_ATTRIBUTE_NAME = re.compile(r'\s+([^\s="\'<>/]+)')
_SRC = re.compile(r'\ssrc="([^"]*)"')


def raw_html_alt_fill(raw: str, cleaned: str, policy: LinkPolicy, *, line: int) -> str:
    """``cleaned`` (the sanitised ``raw``) with ``alt=""`` on every image that has no alt,
    and a warning per image naming its source line. Mail clients and screen readers read a
    missing alt aloud as the file name; an empty one is skipped (WCAG 2.2 SC 1.1.1)."""
    parser = _ImagesWithoutAlt()
    parser.feed(raw)
    parser.close()
    for offset, src in parser.found:
        policy.findings.append(Finding(
            "warning", "img-alt",
            f"line {line + offset}: image {src[:80]!r} written as HTML has no alt text; it "
            "was given alt=\"\" so screen readers skip it. Add alt=\"what the picture "
            "shows\" unless it is only decoration."))

    def fill(m: re.Match[str]) -> str:
        if "alt" in {name.lower() for name in _ATTRIBUTE_NAME.findall(m.group(1))}:
            return m.group(0)
        src = _SRC.search(m.group(1))
        policy.alt_filled.add(html.unescape(src.group(1)) if src else "")
        return f'<img alt=""{m.group(1)}>'

    return _SANITISED_IMG.sub(fill, cleaned) if parser.found else cleaned


def _links_checked(children: list[Token], policy: LinkPolicy, line: int) -> list[Token]:
    out: list[Token] = []
    dropped = 0  # link_close tokens to drop, one per unlinked link_open
    for tok in children:
        if tok.type == "link_open":
            href = policy.resolve(str(tok.attrGet("href") or ""), line=line)
            if href is None:
                dropped += 1
                out.append(tok.copy(type="text", content="", tag="", nesting=0))
                continue
            tok = tok.copy()
            tok.attrSet("href", href)
        elif tok.type == "link_close" and dropped and _unmatched_open(out):
            dropped -= 1
            continue
        elif tok.type == "image":
            src = policy.resolve(str(tok.attrGet("src") or ""), line=line, what="image")
            if src is None:
                continue
            tok = tok.copy()
            tok.attrSet("src", src)
        out.append(tok)
    return out


def _unmatched_open(out: list[Token]) -> bool:
    depth = 0
    for tok in reversed(out):
        if tok.type == "link_close":
            depth += 1
        elif tok.type == "link_open":
            if depth == 0:
                return False
            depth -= 1
    return True


def _text(children: list[Token]) -> str:
    parts: list[str] = []
    link_stack: list[tuple[str, int]] = []
    for tok in children:
        if tok.type in ("text", "code_inline"):
            parts.append(tok.content)
        elif tok.type == "softbreak":
            parts.append(" ")
        elif tok.type == "hardbreak":
            parts.append("\n")
        elif tok.type == "image":
            parts.append(tok.content or "")
        elif tok.type == "html_inline":
            parts.append(_inline_tag_text(tok.content))
        elif tok.type == "link_open":
            link_stack.append((str(tok.attrGet("href") or ""), len(parts)))
        elif tok.type == "link_close" and link_stack:
            href, start = link_stack.pop()
            label = "".join(parts[start:]).strip()
            parts.append(_link_suffix(label, href))
    return "".join(parts)


def _inline_tag_text(tag: str) -> str:
    """Text standing for an inline HTML tag: line breaks, and footnote marks as [1]."""
    if re.match(r"<br\s*/?>", tag, re.I):
        return "\n"
    if re.match(r"<sup\b", tag, re.I):
        return "["
    if re.match(r"</sup\s*>", tag, re.I):
        return "]"
    return ""


def _link_suffix(label: str, href: str) -> str:
    target = href.removeprefix("mailto:")
    if label in (href, target):
        return ""
    return f" ({target})" if href.startswith("mailto:") and "@" in label else f" ({href})"


class _TextExtractor(HTMLParser):
    BREAKS = {"p", "br", "li", "h1", "h2", "h3", "h4", "blockquote", "pre", "div", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS and tag != "br":
            self.parts.append("\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "img":
            self.parts.append(dict(attrs).get("alt") or "")
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href:
                self.parts.append(f" ({href.removeprefix('mailto:')})")
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of sanitised raw HTML written by staff (only for raw HTML blocks)."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
