"""Staff-uploaded layouts are validated before use; problems name the template and position."""

from __future__ import annotations

import pytest

from mailer.rendering import RenderError, compile_issue, parse_issue
from mailer.rendering.layouts import layout_validate
from tests.rendering.conftest import CONTEXT, ROOT, Elements, issue

PLAIN = (ROOT / "examples" / "layouts" / "plain.mjml.j2").read_text(encoding="utf-8")


def _codes(source: str) -> set[str]:
    return {f.code for f in layout_validate(source, name="plain")}


def test_the_example_layout_is_valid():
    assert layout_validate(PLAIN, name="plain") == []


def test_an_issue_compiles_with_a_custom_layout():
    compiled = compile_issue(parse_issue(issue("## Hello\n\nBody")), language="en",
                             context=CONTEXT, layout=PLAIN, layout_name="plain")
    assert "Georgia" in compiled.html.source
    assert Elements(compiled.html.source).all("html")[0]["lang"] == "en"


def test_an_unclosed_tag_is_reported_with_name_and_position():
    broken = PLAIN.replace("</mj-column>\n    </mj-section>\n{{ content }}",
                           "\n    </mj-section>\n{{ content }}", 1)
    messages = [f.message for f in layout_validate(broken, name="plain")]
    assert any(m.startswith("plain: ") and "line 15" in m and "column" in m for m in messages)


def test_malformed_mjml_at_compile_time_is_an_error_naming_the_template():
    broken = PLAIN.replace("</mj-body>", "")
    with pytest.raises(RenderError, match="plain"):
        compile_issue(parse_issue(issue("Body")), language="en", context=CONTEXT,
                      layout=broken, layout_name="plain")


def test_unknown_mjml_tags_are_refused():
    assert "mj-not-allowed" not in _codes(PLAIN)
    assert "mjml-not-allowed" in _codes(PLAIN.replace("<mj-section>", "<mj-carousel>", 1)
                                        .replace("</mj-section>", "</mj-carousel>", 1))


def test_unknown_attributes_are_refused():
    assert "mjml-not-allowed" in _codes(PLAIN.replace('<mj-body background-color="#ffffff">',
                                                      '<mj-body onload="x()">'))


def test_scripts_in_a_layout_are_refused():
    assert "mjml-not-allowed" in _codes(PLAIN.replace("{{ postal_address }}",
                                                      "{{ postal_address }}<script>x()</script>"))


def test_a_missing_slot_is_refused_by_name():
    problems = layout_validate(PLAIN.replace("{{ unsubscribe_url }}", "#"), name="plain")
    assert [f.message for f in problems] == ["plain: required slot {{ unsubscribe_url }} is missing"]


def test_jinja_syntax_errors_name_the_line():
    problems = layout_validate(PLAIN.replace("{{ title }}</mj-title>", "{{ title </mj-title>"),
                               name="plain")
    assert problems[0].code == "template-syntax" and "line 3" in problems[0].message


def test_a_layout_cannot_reach_python_internals():
    hostile = PLAIN.replace("{{ postal_address }}", "{{ postal_address }}{{ ''.__class__.__mro__ }}")
    problems = layout_validate(hostile, name="plain")
    assert [p.code for p in problems] == ["template-unsafe"]
    assert "unsafe" in problems[0].message
    with pytest.raises(RenderError):
        compile_issue(parse_issue(issue("Body")), language="en", context=CONTEXT,
                      layout=hostile, layout_name="plain")
