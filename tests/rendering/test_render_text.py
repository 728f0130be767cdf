"""The text/plain part is built from the blocks: structure survives, lines fit 76 columns."""

from __future__ import annotations

from tests.rendering.conftest import EXAMPLE_EN, RECIPIENT, SEED, issue, render


def _text(source: str, language: str = "en") -> str:
    return render(source, language).text.render(RECIPIENT, escape_html=False)


def test_lines_are_wrapped_at_76_columns():
    for path in (SEED, EXAMPLE_EN):
        text = _text(path.read_text(encoding="utf-8"))
        assert max(len(line) for line in text.splitlines()) <= 76


def test_long_urls_are_never_broken():
    url = "https://example.org/" + "a" * 90
    assert url in _text(issue(f"See [the report]({url}) today."))


def test_links_read_as_text_then_url():
    text = _text(issue("Read [the study](https://example.org/study) now."))
    assert "the study (https://example.org/study)" in text


def test_mailto_links_show_the_address_once():
    text = _text(issue("[iomuz@iom.int](mailto:iomuz@iom.int)"))
    assert "iomuz@iom.int" in text and "mailto:" not in text


def test_headings_are_underlined():
    text = _text(issue("## Returning home\n\n### Direct assistance\n\nBody"))
    assert "RETURNING HOME\n==============" in text
    assert "Direct assistance\n-----------------" in text


def test_lists_keep_markers_and_hanging_indents():
    text = _text(issue("- " + "word " * 30 + "\n- second"))
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("- word"))
    assert lines[first + 1].startswith("  word")
    assert "- second" in lines


def test_stats_put_each_value_beside_its_label():
    text = _text(issue('::: stats title="Overview"\n- 76,698 | Registered\n- 470 | Deaths\n:::'))
    assert "76,698  Registered" in text and "   470  Deaths" in text


def test_footnote_marks_read_as_brackets():
    text = _text(issue("::: stats\n- 470 | Deaths<sup>1</sup>\n:::\n\n<sup>1</sup> source"))
    assert "Deaths[1]" in text


def test_footer_carries_the_unsubscribe_and_preferences_links_and_address():
    text = _text(issue("Body"))
    assert f"Unsubscribe: {RECIPIENT['unsubscribe_url']}" in text
    assert f"Manage preferences: {RECIPIENT['preferences_url']}" in text
    assert "IOM Sub-Regional Coordination Office, Astana" in text
