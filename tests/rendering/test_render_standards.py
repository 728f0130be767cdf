"""STANDARDS.md rows 20-24 hold for the rendered HTML and text (parsed, not grepped)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from mailer.rendering import RenderError
from mailer.rendering.checks import html_facts, html_findings
from tests.rendering.conftest import (
    CONTEXT,
    EXAMPLE_EN,
    EXAMPLE_RU,
    RECIPIENT,
    SEED,
    Elements,
    issue,
    render,
)

SOURCES = [(SEED, "en"), (EXAMPLE_EN, "en"), (EXAMPLE_RU, "ru")]
IDS = ["raw", "structured-en", "structured-ru"]


@pytest.fixture(params=SOURCES, ids=IDS)
def merged(request):
    path, language = request.param
    compiled = render(path.read_text(encoding="utf-8"), language)
    return (language, compiled.html.render(RECIPIENT, escape_html=True),
            compiled.text.render(RECIPIENT, escape_html=False))


def test_html_is_under_the_gmail_clipping_limit(merged):
    _, html, _ = merged
    assert len(html.encode()) < 90 * 1024


def test_preheader_is_the_first_hidden_div_and_40_to_130_chars(merged):
    _, html, _ = merged
    preheader = html_facts(html).first_hidden_div or ""
    assert 40 <= len(preheader.strip()) <= 130


def test_html_lang_follows_the_variant(merged):
    language, html, _ = merged
    assert Elements(html).all("html")[0]["lang"] == language


def test_title_is_not_empty(merged):
    _, html, _ = merged
    assert html_facts(html).title.strip()


def test_every_layout_table_has_role_presentation(merged):
    _, html, _ = merged
    tables = Elements(html).all("table")
    assert tables and all(t.get("role") == "presentation" for t in tables)


def test_every_image_has_alt_text(merged):
    _, html, _ = merged
    assert all((img.get("alt") or "").strip() for img in Elements(html).all("img"))


def test_color_scheme_metas_say_light_dark(merged):
    _, html, _ = merged
    metas = {m.get("name"): m.get("content") for m in Elements(html).all("meta")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"


def test_no_template_syntax_is_left_after_the_merge(merged):
    _, html, text = merged
    for part in (html, text):
        assert not re.search(r"\{\{|\}\}|\{%", part)


def test_every_link_is_https_mailto_or_under_the_site(merged):
    _, html, _ = merged
    for a in Elements(html).all("a"):
        href = a.get("href") or ""
        assert urlsplit(href).scheme in ("https", "mailto") or href.startswith(CONTEXT.site_url)


def test_unsubscribe_and_preferences_links_are_in_both_parts(merged):
    _, html, text = merged
    hrefs = {a.get("href") for a in Elements(html).all("a")}
    for key in ("unsubscribe_url", "preferences_url", "web_url"):
        assert RECIPIENT[key] in hrefs
        assert RECIPIENT[key] in text


def test_plain_http_links_elsewhere_are_a_warning():
    compiled = render(issue("[old site](http://example.org/page)"))
    assert "link-http" in {f.code for f in compiled.findings if f.level == "warning"}


def test_images_without_alt_text_are_a_warning():
    compiled = render(issue("![](/media/newsletter/x.png)"))
    assert "img-alt" in {f.code for f in compiled.findings if f.level == "warning"}


def test_a_short_preheader_is_a_warning():
    compiled = render(issue("Body text", preheader="Too short"))
    assert "preheader-length" in {f.code for f in compiled.findings}


def test_html_over_90_kb_warns_and_over_102_kb_is_an_error():
    small = html_findings("<html lang='en'>" + "x" * (91 * 1024), language="en",
                          site_url=CONTEXT.site_url)
    large = html_findings("<html lang='en'>" + "x" * (103 * 1024), language="en",
                          site_url=CONTEXT.site_url)
    assert [f.level for f in small if f.code == "html-size"] == ["warning"]
    assert [f.level for f in large if f.code == "html-size"] == ["error"]


def test_a_huge_issue_is_refused_because_gmail_would_clip_it():
    body = "\n\n".join(f"Paragraph {i} " + "words " * 150 for i in range(160))
    with pytest.raises(RenderError, match="102 KB"):
        render(issue(body))
