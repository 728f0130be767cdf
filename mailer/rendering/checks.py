"""Render-time checks of the compiled HTML and text (STANDARDS rows 20-24).

Errors stop a send; warnings are shown to staff. The HTML is parsed, not grepped,
so a check sees what a mail client sees.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from mailer.rendering.findings import Finding
from mailer.rendering.merge import MERGE_TAG, unresolved_template_syntax

WARN_BYTES = 90 * 1024
MAX_BYTES = 102 * 1024  # Gmail clips larger messages, hiding the unsubscribe link
PREHEADER_MIN, PREHEADER_MAX = 40, 130


@dataclass
class HtmlFacts:
    """What the checks need to know about one HTML document."""

    lang: str = ""
    title: str = ""
    metas: dict[str, str] = field(default_factory=dict)
    first_hidden_div: str | None = None
    tables_without_role: int = 0
    images: list[dict[str, str | None]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _FactParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = HtmlFacts()
        self._in_title = False
        self._hidden_depth = 0  # >0 while inside the first display:none div
        self._hidden_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        facts = self.facts
        if tag == "html":
            facts.lang = a.get("lang") or ""
        elif tag == "title":
            self._in_title = True
        elif tag == "meta" and a.get("name"):
            facts.metas[str(a["name"]).lower()] = a.get("content") or ""
        elif tag == "table" and a.get("role") != "presentation":
            facts.tables_without_role += 1
        elif tag == "img":
            facts.images.append(a)
        elif tag == "a" and a.get("href") is not None:
            facts.links.append(str(a["href"]))
        if tag == "div":
            style = (a.get("style") or "").replace(" ", "").lower()
            if self._hidden_depth:
                self._hidden_depth += 1
            elif facts.first_hidden_div is None and "display:none" in style:
                self._hidden_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "div" and self._hidden_depth:
            self._hidden_depth -= 1
            if not self._hidden_depth:
                self.facts.first_hidden_div = "".join(self._hidden_text)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.facts.title += data
        if self._hidden_depth:
            self._hidden_text.append(data)


def html_facts(html: str) -> HtmlFacts:
    parser = _FactParser()
    parser.feed(html)
    parser.close()
    return parser.facts


def link_finding(url: str, *, site_url: str, where: str = "link") -> Finding | None:
    """``None`` if ``url`` may be sent; a warning for plain http; an error otherwise."""
    if MERGE_TAG.fullmatch(url.strip()):
        return None  # per-recipient URL, filled by the sending code
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("https", "mailto"):
        return None
    if scheme == "http":
        if url.startswith(site_url.rstrip("/") + "/") or url == site_url:
            return None
        return Finding("warning", "link-http",
                       f"{where} {url[:80]!r} is not https; mail clients may flag it")
    return Finding("error", "link-scheme",
                   f"{where} {url[:80]!r} is not an https or mailto link and cannot be sent")


def html_findings(html: str, *, language: str, site_url: str,
                  alt_reported: Collection[str] = ()) -> list[Finding]:
    """``alt_reported``: sources of images already reported, with their line, as written
    without alt (and given ``alt=""``); not reported again here without a line."""
    facts = html_facts(html)
    found: list[Finding] = []
    size = len(html.encode("utf-8"))
    if size > MAX_BYTES:
        found.append(Finding("error", "html-size",
                             f"the HTML is {size // 1024} KB; Gmail clips messages over 102 KB, "
                             "hiding the unsubscribe link. Shorten the issue or split it."))
    elif size > WARN_BYTES:
        found.append(Finding("warning", "html-size",
                             f"the HTML is {size // 1024} KB, close to Gmail's 102 KB limit"))
    preheader = (facts.first_hidden_div or "").strip()
    if not PREHEADER_MIN <= len(preheader) <= PREHEADER_MAX:
        found.append(Finding("warning", "preheader-length",
                             f"the preheader is {len(preheader)} characters; inboxes show "
                             f"{PREHEADER_MIN}-{PREHEADER_MAX} best. Set 'preheader' in the "
                             "front matter."))
    if facts.lang != language:
        found.append(Finding("error", "html-lang",
                             f"<html lang> is {facts.lang!r}, expected {language!r}"))
    if not facts.title.strip():
        found.append(Finding("error", "html-title", "the <title> is empty"))
    if facts.tables_without_role:
        found.append(Finding("error", "table-role",
                             f"{facts.tables_without_role} table(s) lack role=\"presentation\""))
    for name in ("color-scheme", "supported-color-schemes"):
        if facts.metas.get(name) != "light dark":
            found.append(Finding("error", "dark-mode", f'<meta name="{name}"> is not "light dark"'))
    for img in facts.images:
        if not (img.get("alt") or "").strip() and (img.get("src") or "") not in alt_reported:
            found.append(Finding("warning", "img-alt",
                                 f"image {str(img.get('src'))[:80]!r} has no alt text; "
                                 "screen readers and image-blocking clients show nothing"))
    for url in facts.links:
        finding = link_finding(url, site_url=site_url)
        if finding:
            found.append(finding)
    for img in facts.images:
        finding = link_finding(str(img.get("src") or ""), site_url=site_url, where="image")
        if finding:
            found.append(finding)
    return found


SUBJECT_CAPS_MIN_LETTERS = 6  # "IOM", "UN" or "COVID" alone are acronyms, not shouting


def subject_findings(subject: str) -> list[Finding]:
    """A warning for a subject in capitals. SpamAssassin's SUBJ_ALL_CAPS scores a subject
    of several words, 10 characters or more, whose letters are all capitals (its
    HeaderEval.pm counts Latin letters only; capitals in any script read as shouting)."""
    cased = [c for c in subject if c.isalpha() and c.lower() != c.upper()]
    if (len(subject.strip()) < 10 or not re.search(r"\S\s+\S", subject.strip())
            or len(cased) < SUBJECT_CAPS_MIN_LETTERS or not all(c.isupper() for c in cased)):
        return []
    return [Finding("warning", "subject-caps",
                    f"the subject {subject[:80]!r} is all capitals: spam filters score that "
                    "(SpamAssassin's SUBJ_ALL_CAPS) and readers take it as shouting. Write it "
                    f"in sentence case, e.g. {subject[:80].capitalize()!r}, with 'subject:' in "
                    "the front matter (a raw issue takes its subject from the first heading).")]


def template_syntax_findings(text: str, *, part: str) -> list[Finding]:
    return [Finding("error", "unresolved-tag",
                    f"the {part} part still contains template code near {snippet.strip()!r}")
            for snippet in unresolved_template_syntax(text)]


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    out = []
    for f in findings:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out
