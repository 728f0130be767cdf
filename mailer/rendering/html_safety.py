"""The last defence on the compiled HTML of every variant, whatever layout made it (issue 10).

Issue content is sanitised where it is written (``inline.sanitise``), but a layout is
template code: ``<mj-raw><!--><script>…</script>--></mj-raw>`` looks like a comment to
Python's ``HTMLParser`` and not to a browser, and ``{{ ("<" ~ "script>")|safe }}`` is
assembled only when the template runs. So the finished document is sanitised again
with nh3 (html5ever parses as browsers do, so the comment trick and entity- or
whitespace-obfuscated schemes such as ``java&#x09;script:`` are seen for what they are):
head and body each against an allow-list of what MJML produces. Conditional comments
(Outlook's ``<!--[if mso]>``) stay: a browser never runs their content.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

from mailer.rendering.findings import Finding

URL_SCHEMES = {"http", "https", "mailto"}
BODY_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "center", "code", "div", "em", "h1", "h2", "h3",
    "h4", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
BODY_ATTRIBUTES = {
    "*": {"align", "aria-hidden", "aria-label", "aria-roledescription", "bgcolor", "border",
          "cellpadding", "cellspacing", "class", "dir", "height", "lang", "role", "style",
          "title", "valign", "vertical-align", "width"},
    "a": {"href", "name", "rel", "target"},
    "img": {"alt", "src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
HEAD_TAGS = {"title", "meta", "style", "link"}
HEAD_ATTRIBUTES = {
    "meta": {"charset", "content", "http-equiv", "name"},
    "style": {"media", "type"},
    "link": {"href", "rel", "type", "media"},
}
# The frame MJML writes around head and body; its attributes come from the layout.
DOCUMENT = re.compile(
    r"\A(?P<open><!doctype html>\s*<html(?P<html_attrs>[^<>]*)>\s*<head>)(?P<head>.*?)"
    r"(?P<mid></head>\s*<body(?P<body_attrs>[^<>]*)>)(?P<body>.*)(?P<close></body>\s*</html>\s*)\Z",
    re.S | re.I)
SAFE_FRAME_ATTRS = re.compile(r'\A(\s+[a-z][a-z:-]*="[^"<>]*")*\s*\Z', re.I)
# What, in raw output, means something dangerous was there (for the warning only; the
# sanitiser, not these patterns, decides what goes).
DANGER_TAG = re.compile(r"<\s*(script|iframe|object|embed|form|base)\b|\son[a-z]+\s*=", re.I)
ATTRIBUTE_VALUE = re.compile(r"""=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
DANGER_SCHEME = re.compile(r"(javascript|vbscript|data):", re.I)


def _clean(fragment: str, tags: set[str], attributes: dict[str, set[str]]) -> str:
    # Elements whose content is code go with their content; <style> belongs in the head.
    dropped = {"script", "noscript", "template", "iframe", "object"} | (
        {"style"} if "style" not in tags else set())
    return nh3.clean(fragment, tags=tags, attributes=attributes, url_schemes=URL_SCHEMES,
                     link_rel=None, strip_comments=False, clean_content_tags=dropped)


def _dangerous(html: str) -> bool:
    if DANGER_TAG.search(html):
        return True
    for m in ATTRIBUTE_VALUE.finditer(html):
        # Browsers decode entities and drop ASCII whitespace and controls inside a URL
        # scheme, so ``java&#x09;script:`` is ``javascript:``.
        value = re.sub(r"[\x00-\x20]+", "", html_lib.unescape(
            next(g for g in m.groups() if g is not None)))
        if DANGER_SCHEME.match(value):
            return True
    return False


def html_sanitise(html: str, *, template_name: str) -> tuple[str, list[Finding]]:
    """(``html`` with anything that could run removed, findings). An error finding if the
    document does not have the shape MJML writes (then nothing of it may be used)."""
    m = DOCUMENT.match(html)
    if not m or not SAFE_FRAME_ATTRS.match(m["html_attrs"]) \
            or not SAFE_FRAME_ATTRS.match(m["body_attrs"]) \
            or _dangerous(m["html_attrs"] + m["body_attrs"]):
        return "", [Finding("error", "html-unsafe",
                            f"{template_name}: the compiled HTML does not have the expected "
                            "<html>, <head> and <body> frame or carries unsafe attributes on "
                            "them; nothing was rendered. Check the layout's <mjml> and "
                            "<mj-body> tags.")]
    head = _clean(m["head"], HEAD_TAGS, HEAD_ATTRIBUTES)
    body = _clean(m["body"], BODY_TAGS, BODY_ATTRIBUTES)
    findings = []
    changed = (head, body) != (m["head"], m["body"])
    if changed and _dangerous(_without_conditional_comments(m["head"] + m["body"])):
        findings.append(Finding(
            "warning", "html-removed",
            f"{template_name}: scripts, event handlers or unsafe links in the compiled HTML "
            "were removed; the rest was kept. Remove them from the layout or the issue."))
    return m["open"] + head + m["mid"] + body + m["close"], findings


def _without_conditional_comments(html: str) -> str:
    # MJML's own Outlook markup lives in these; their content never runs in a browser.
    return re.sub(r"<!--\[if [^\]]*\]>.*?<!\[endif\]-->", "", html, flags=re.S)
