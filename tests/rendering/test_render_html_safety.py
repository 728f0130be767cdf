"""The compiled HTML of every variant, whatever its layout, carries no script, event
handler or dangerous URL scheme (issue 10, item 4)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.rendering import RenderError, compile_issue, parse_issue
from mailer.rendering.html_safety import html_sanitise
from mailer.rendering.layouts import layout_validate
from tests.rendering.conftest import CONTEXT, ROOT, SEED, Elements, issue, render

PLAIN = (ROOT / "examples" / "layouts" / "plain.mjml.j2").read_text(encoding="utf-8")
FOOTER = "{{ postal_address }}"
CLOSE_TEXT = "</mj-text></mj-column></mj-section>"
REOPEN_TEXT = "<mj-section><mj-column><mj-text>"

BYPASSES = {
    # Python's HTMLParser sees one comment; a browser sees <!--> as a whole comment.
    "comment-trick": PLAIN.replace(
        FOOTER, f"{FOOTER}{CLOSE_TEXT}<mj-raw><!--><script>alert(1)</script>--></mj-raw>"
                f"{REOPEN_TEXT}", 1),
    "assembled-safe": PLAIN.replace(
        FOOTER, FOOTER + '{{ ("<" ~ "script>alert(1)</" ~ "script>")|safe }}', 1),
    "head-raw": PLAIN.replace(
        "</mj-head>", "<mj-raw><!--><script>alert(1)</script>--></mj-raw></mj-head>", 1),
    "assembled-handler": PLAIN.replace(
        FOOTER, FOOTER + """{{ ('<img src="https://e.org/x.png" alt="" on' ~ 'error="alert(1)" />')|safe }}""", 1),
    "tab-in-scheme": PLAIN.replace(
        FOOTER, FOOTER + '<a href="java&#x09;script:alert(1)">x</a>', 1),
    "assembled-scheme": PLAIN.replace(
        FOOTER, FOOTER + '{{ ("<a href=\\"jav&#x61;script:alert(1)\\">x</a>")|safe }}', 1),
}


def _compiled_html(layout: str) -> str:
    compiled = compile_issue(parse_issue(issue("## Hello\n\nBody")), language="en",
                             context=CONTEXT, layout=layout, layout_name="hostile")
    return compiled.html.source


def _assert_inert(html: str) -> None:
    tags = Elements(html).tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed")]
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)
    hrefs = [str(a.get("href") or a.get("src") or "") for _, a in tags]
    assert not [h for h in hrefs if "script" in "".join(h.split()).lower()]
    assert "<script" not in html.lower()


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_a_hostile_layout_is_refused_by_the_layout_check(name):
    problems = layout_validate(BYPASSES[name], name="hostile")
    assert problems and all(f.level == "error" for f in problems)
    assert any("hostile" in f.message for f in problems)


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_a_hostile_layout_stored_past_the_check_still_compiles_to_inert_html(name):
    html = _compiled_html(BYPASSES[name])
    _assert_inert(html)
    assert "<script" not in html.lower()


def test_removal_is_reported_as_a_warning_naming_the_layout():
    compiled = compile_issue(parse_issue(issue("Body")), language="en", context=CONTEXT,
                             layout=BYPASSES["comment-trick"], layout_name="layout 'hostile'")
    warnings = [f for f in compiled.findings if f.code == "html-removed"]
    assert warnings and "layout 'hostile'" in warnings[0].message


def test_entity_obfuscated_schemes_in_issue_html_are_dropped():
    html = render(issue('<a href="java&#x09;script:alert(1)">a</a> '
                        '<a href="&#106;avascript:alert(1)">b</a>')).html.source
    _assert_inert(html)


def test_the_sanitiser_keeps_an_ordinary_email_as_it_was():
    html = render(SEED.read_text("utf-8")).html.source
    again, findings = html_sanitise(html, template_name="seed")
    assert again == html and findings == []
    assert "<!--[if mso | IE]>" in html  # Outlook's conditional comments stay


def test_a_document_without_the_mjml_frame_is_refused():
    _html, findings = html_sanitise('<html onload="x()"><head></head><body></body></html>',
                                    template_name="odd")
    assert [f.code for f in findings] == ["html-unsafe"] and findings[0].level == "error"


LAYOUT_PIECES = ["<!-->", "<!--", "-->", "<script>", "</script>", "alert(1)", "<img src=\"https://e.org/x.png\" alt=\"\" onerror=\"x()\" />",
                 '<a href="java&#x09;script:x()">a</a>', '<a href="&#106;avascript:x()">b</a>',
                 "<![CDATA[", "]]>", "<style>", "</style>", "<b>", "</b>", "{{ ('<' ~ 'script>')|safe }}",
                 "{{ ('<a href=\"javas' ~ 'cript:x()\">c</a>')|safe }}", "<svg onload=x()>", "&lt;", "x"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LAYOUT_PIECES), min_size=1, max_size=8))
def test_any_layout_compiles_to_inert_html_or_is_refused(pieces):
    layout = PLAIN.replace(FOOTER, FOOTER + "".join(pieces), 1)
    try:
        html = _compiled_html(layout)
    except RenderError as exc:
        assert exc.findings and all(f.message for f in exc.findings)
        return
    _assert_inert(html)
    # Sanitising again changes nothing: html5ever, parsing as a browser does, finds
    # nothing left to remove.
    assert html_sanitise(html, template_name="again") == (html, [])
