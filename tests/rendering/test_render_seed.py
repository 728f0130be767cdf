"""The seed newsletter renders, raw and structured, and loses nothing on the way."""

from __future__ import annotations

import re

import pytest

from tests.rendering.conftest import EXAMPLE_EN, EXAMPLE_RU, RECIPIENT, SEED, Elements, render

FIGURES = ["3186", "76,698", "30,759", "470", "92", "100", "16", "560,000", "2020-2022",
           "11616", "1899", "+992900800800"]
HEADINGS = ["RETURNING HOME", "DIRECT ASSISTANCE", "PARTNERSHIP IN ACTION",
            "ONLINE INFORMATION CAMPAIGNS ON SAFE MIGRATION DURING COVID 19 OUTBREAK"]
EMAILS = ["iomastana@iom.int", "iomalmaty@iom.int", "iomkyrgyzstan@iom.int", "dushanbe@iom.int",
          "iomashgabat@iom.int", "iomuz@iom.int"]
RUSSIAN = ["АЛМАТИНСКИЙ ПРОЦЕСС"]


def _parts(path, language="en"):
    compiled = render(path.read_text(encoding="utf-8"), language)
    html = compiled.html.render(RECIPIENT, escape_html=True)
    text = compiled.text.render(RECIPIENT, escape_html=False)
    return compiled, Elements(html).text, " ".join(text.split())


@pytest.mark.parametrize("path", [SEED, EXAMPLE_EN], ids=["raw", "structured"])
@pytest.mark.parametrize("needle", FIGURES + HEADINGS + EMAILS + RUSSIAN)
def test_every_figure_heading_address_and_russian_text_is_in_both_parts(path, needle):
    _, html_text, text = _parts(path)
    assert needle in html_text
    assert needle in text


def test_raw_seed_renders_with_only_warnings_about_dead_links_and_its_capital_subject():
    compiled, _, _ = _parts(SEED)
    assert {f.code for f in compiled.findings} == {"link-empty", "subject-caps"}


def test_raw_seed_gets_a_preheader_from_its_first_paragraphs():
    compiled = render(SEED.read_text(encoding="utf-8"))
    assert 40 <= len(compiled.preheader) <= 130
    assert "Please click on the photo to read one story" in compiled.preheader


def test_structured_seed_renders_without_findings():
    compiled, _, _ = _parts(EXAMPLE_EN)
    assert compiled.findings == []


def test_russian_variant_keeps_its_figures_and_contacts():
    compiled, html_text, text = _parts(EXAMPLE_RU, "ru")
    assert compiled.findings == []
    for needle in ["3186", "76 698", "ВОЗВРАЩЕНИЕ ДОМОЙ", "ПАРТНЁРСТВО В ДЕЙСТВИИ", *EMAILS]:
        assert needle in html_text
        assert needle in text


def test_structured_seed_uses_the_extension_blocks():
    compiled = render(EXAMPLE_EN.read_text(encoding="utf-8"))
    mjml = compiled.mjml
    assert mjml.count('css-class="stat-column"') == 3
    assert mjml.count('css-class="contact-column"') == 5
    assert "<mj-social-element" in mjml and "<mj-button" in mjml


def test_demo_photos_resolve_to_absolute_urls_under_the_site():
    compiled = render(EXAMPLE_EN.read_text(encoding="utf-8"))
    srcs = [a["src"] for a in Elements(compiled.html.source).all("img")]
    assert "http://127.0.0.1:8000/media/newsletter/returning-home.png" in srcs
    assert all(re.match(r"https?://", s or "") for s in srcs)
