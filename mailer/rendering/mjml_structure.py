"""MJML structure and allow-list checks, with source positions for the messages.

mjml-python raises ``ValueError`` on malformed MJML without saying where, and passes
unknown tags and attributes silently; this module says where and what.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MJML_TAGS = {
    "mjml", "mj-head", "mj-body", "mj-title", "mj-preview", "mj-attributes", "mj-all",
    "mj-class", "mj-style", "mj-font", "mj-breakpoint", "mj-raw", "mj-section", "mj-wrapper",
    "mj-group", "mj-column", "mj-text", "mj-image", "mj-button", "mj-divider", "mj-spacer",
    "mj-social", "mj-social-element", "mj-table", "mj-hero", "mj-navbar", "mj-navbar-link",
    "mj-include",
}
MJML_ATTRIBUTES = {
    "align", "alt", "background-color", "background-position", "background-repeat",
    "background-size", "background-url", "border", "border-bottom", "border-color",
    "border-left", "border-radius", "border-right", "border-style", "border-top",
    "border-width", "color", "container-background-color", "css-class", "dir", "direction",
    "font-family", "font-size", "font-style", "font-weight", "full-width", "gap", "height",
    "href", "icon-height", "icon-padding", "icon-size", "inline", "inner-background-color",
    "inner-padding", "lang", "letter-spacing", "line-height", "mj-class", "mode", "name",
    "owa", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "rel", "src", "target", "text-align", "text-decoration", "text-padding", "text-transform",
    "title", "vertical-align", "width",
}
# HTML allowed inside MJML's "ending" tags (mj-text, mj-button, mj-raw...).
HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "center", "code", "div", "em", "h1", "h2", "h3", "h4",
    "hr", "i", "img", "li", "meta", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
HTML_ATTRIBUTES = {
    "align", "alt", "border", "cellpadding", "cellspacing", "class", "colspan", "content",
    "dir", "height", "href", "lang", "name", "role", "src", "style", "title", "valign", "width",
}


class _Structure(HTMLParser):
    """Checks MJML nesting and the allow-lists, remembering source positions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.problems: list[str] = []
        self.unknown: list[str] = []

    def _at(self, pos: tuple[int, int] | None = None) -> str:
        line, col = pos or self.getpos()
        return f"line {line}, column {col + 1}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._allowed(tag, attrs)
        if tag.startswith("mj"):
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._allowed(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not tag.startswith("mj"):
            return
        if not self.stack:
            self.problems.append(f"</{tag}> at {self._at()} closes nothing")
            return
        open_tag, pos = self.stack[-1]
        if open_tag == tag:
            self.stack.pop()
        else:
            self.problems.append(
                f"</{tag}> at {self._at()} does not match <{open_tag}> opened at {self._at(pos)}")
            if any(t == tag for t, _ in self.stack):
                while self.stack and self.stack.pop()[0] != tag:
                    pass

    def _allowed(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.startswith("mj"):
            tags, attributes = MJML_TAGS, MJML_ATTRIBUTES
        else:
            tags, attributes = HTML_TAGS, HTML_ATTRIBUTES
        if tag not in tags:
            self.unknown.append(f"<{tag}> at {self._at()} is not an allowed tag")
        for name, value in attrs:
            if name not in attributes:
                self.unknown.append(f"attribute {name!r} on <{tag}> at {self._at()} is not allowed")
            # Browsers drop ASCII whitespace and controls inside a scheme (java&#x09;script:).
            elif value and re.match(r"(javascript|data|vbscript):",
                                    re.sub(r"[\x00-\x20]+", "", value), re.I):
                self.unknown.append(f"{name}={value[:30]!r} on <{tag}> at {self._at()} is unsafe")

    def finish(self) -> None:
        self.close()
        for tag, pos in reversed(self.stack):
            self.problems.append(f"<{tag}> opened at {self._at(pos)} is never closed")


def mjml_structure(mjml: str) -> _Structure:
    checker = _Structure()
    # Jinja statements and comments are not MJML; blank them, keeping positions.
    checker.feed(re.sub(r"\{[%#].*?[%#]\}", lambda m: " " * len(m.group(0)), mjml, flags=re.S))
    checker.finish()
    return checker


def mjml_structure_problems(mjml: str) -> list[str]:
    return mjml_structure(mjml).problems
