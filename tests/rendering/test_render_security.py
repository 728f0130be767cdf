"""Hostile issue content is neutralised or refused with a clear message; never evaluated."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.rendering import RenderError
from tests.rendering.conftest import RECIPIENT, Elements, issue, render


def _html(source: str) -> str:
    return render(source).html.render(RECIPIENT, escape_html=True)


def test_it_removes_script_tags_from_raw_html():
    html = _html(issue("Hello\n\n<script>alert(1)</script>\n\n<p>after</p>"))
    assert not [a for t, a in Elements(html).tags if t == "script"]
    assert "alert(1)" not in html


def test_it_removes_event_handlers():
    html = _html(issue('<p onclick="steal()">x</p>\n\nText <img src="/media/x.png" alt="x" onerror="steal()">'))
    assert not any(k.startswith("on") for _, attrs in Elements(html).tags for k in attrs)


def test_it_reports_removed_scripts_as_a_warning():
    compiled = render(issue("<script>alert(1)</script>"))
    assert "html-removed" in {f.code for f in compiled.findings}


@pytest.mark.parametrize("link", ["javascript:alert(1)", "JaVaScRiPt:alert(1)",
                                  "data:text/html,<script>alert(1)</script>",
                                  "vbscript:msgbox", "ftp://example.org/file"])
def test_it_refuses_links_with_unsafe_schemes(link):
    with pytest.raises(RenderError) as caught:
        render(issue(f"[click]({link})"))
    assert "link-scheme" in {f.code for f in caught.value.findings}
    assert "line" in str(caught.value)


def test_it_refuses_unsafe_links_in_raw_html_by_dropping_the_href():
    html = _html(issue('<a href="javascript:alert(1)">x</a>'))
    assert "javascript:" not in html


@pytest.mark.parametrize("code", ["{{ ''.__class__ }}", "{{ config }}", "{% for x in y %}",
                                  "{{ first_name.__class__ }}", "{# comment #}", "{{ 7*7 }}"])
def test_it_refuses_template_code_with_a_clear_message(code):
    with pytest.raises(RenderError) as caught:
        render(issue(f"Hello\n\nSome {code} text"))
    message = str(caught.value)
    assert "template code" in message and "line 8" in message
    assert "{{ first_name }}" in message  # says what is allowed


def test_it_refuses_template_code_in_the_front_matter():
    with pytest.raises(RenderError):
        render(issue("Body", title="{{ ''.__class__.__mro__ }}"))


def test_it_never_evaluates_template_code():
    with pytest.raises(RenderError) as caught:
        render(issue("{{ 7*7 }}"))
    assert "49" not in str(caught.value)


def test_authors_merge_tags_become_merge_fields():
    compiled = render(issue('Dear {{ first_name|default("friend") }}, [web]({{ web_url }})'))
    names = {getattr(p, "name", None) for p in compiled.html.parts}
    assert {"first_name", "web_url"} <= names


def test_merged_values_are_html_escaped():
    compiled = render(issue("Dear {{ first_name }}"))
    html = compiled.html.render({**RECIPIENT, "first_name": "<b onclick=x>Eve</b>"},
                                escape_html=True)
    assert "<b onclick" not in html and "&lt;b onclick=x&gt;Eve&lt;/b&gt;" in html


def test_merge_defaults_are_used_when_a_value_is_missing():
    compiled = render(issue('Dear {{ first_name|default("friend") }},'))
    assert "Dear friend," in compiled.text.render({}, escape_html=False)


def test_unknown_blocks_are_refused_with_their_name():
    with pytest.raises(RenderError, match="unknown block '::: carousel'"):
        render(issue("::: carousel\nx\n:::"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("<>{}%#:/\"'= ajscrptonl()[]!*\n-|")),
               max_size=80))
def test_arbitrary_input_renders_safely_or_is_refused(body):
    try:
        compiled = render(issue(body))
    except RenderError as exc:
        assert exc.findings and all(f.message for f in exc.findings)
        return
    html = compiled.html.render(RECIPIENT, escape_html=True)
    tags = Elements(html).tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object")]
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)
    assert "{{" not in html and "{%" not in html


def test_merge_tags_in_the_preheader_are_merged_per_recipient():
    compiled = render(issue("Body", preheader='{{ first_name|default("Friend") }}, the July '
                                              "issue: figures, stories and contacts."))
    assert "Aigerim, the July issue" in compiled.html.render(RECIPIENT, escape_html=True)
    assert "Friend, the July issue" in compiled.html.render({}, escape_html=True)
