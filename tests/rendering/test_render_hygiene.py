"""Email hygiene that spam filters and screen readers judge: a preheader hidden without
low-contrast text, raw HTML images given an alt, and a warning for a subject in capitals."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command

from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.rendering.checks import subject_findings
from tests.rendering.conftest import EXAMPLE_EN, SEED, Elements, issue, render

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def _rgb(value: str) -> tuple[int, int, int] | None:
    value = value.strip().lower()
    named = {"white": "#ffffff", "black": "#000000"}
    value = named.get(value, value)
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
    return None


def low_contrast(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> bool:
    """SpamAssassin's HTML_FONT_LOW_CONTRAST test (HTML.pm ``html_font_invisible``): the
    colours' distance, weighted by brightness, is under 12."""
    r, g, b = (x - y for x, y in zip(fg, bg, strict=True))
    return ((0.2126 * r) ** 2 + (0.7152 * g) ** 2 + (0.0722 * b) ** 2) ** 0.5 < 12


class ContrastWalk(HTMLParser):
    """Every piece of text with the colour and background it inherits, the way
    SpamAssassin follows ``color``, ``background(-color)`` and ``bgcolor``."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int, int], tuple[int, int, int]]] = [
            ("#root", (0, 0, 0), (255, 255, 255))]
        self.texts: list[tuple[str, tuple[int, int, int], tuple[int, int, int]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        _, fg, bg = self.stack[-1]
        a = dict(attrs)
        bg = _rgb(a.get("bgcolor") or "") or bg
        for decl in (a.get("style") or "").split(";"):
            name, _, value = decl.partition(":")
            name = name.strip().lower()
            if name == "color":
                fg = _rgb(value) or fg
            elif name in ("background", "background-color"):
                bg = next((c for c in map(_rgb, value.split()) if c), bg)
        if tag not in VOID:
            self.stack.append((tag, fg, bg))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip():
            _, fg, bg = self.stack[-1]
            self.texts.append((data.strip(), fg, bg))


@pytest.mark.parametrize("path", [SEED, EXAMPLE_EN], ids=["raw", "structured"])
def test_no_text_of_the_seed_is_coloured_like_its_background(path):
    html = render(path.read_text(encoding="utf-8")).html.source
    walk = ContrastWalk(html)
    assert len(walk.texts) > 50
    hidden = [(text[:60], fg, bg) for text, fg, bg in walk.texts if low_contrast(fg, bg)]
    assert hidden == []


def test_the_walk_sees_the_white_on_light_text_that_spam_filters_score():
    walk = ContrastWalk('<body style="background-color:#eef2f7"><div style="color:#ffffff">'
                        'preheader</div></body>')
    assert [low_contrast(fg, bg) for _, fg, bg in walk.texts] == [True]


def test_the_preheader_is_hidden_by_layout_not_by_colour_or_a_tiny_font():
    compiled = render(SEED.read_text(encoding="utf-8"))
    body = compiled.html.source.split("<body", 1)[1]
    style, text = re.search(r'>\s*<div style="([^"]*)">([^<]*)</div>', body).groups()
    assert text.strip() == compiled.preheader
    declarations = {d.split(":")[0] for d in style.split(";") if d}
    assert {"display", "max-height", "overflow", "mso-hide", "opacity"} <= declarations
    assert "color" not in declarations and "font-size" not in declarations
    assert "display:none" in style and "mso-hide:all" in style


def test_a_raw_html_image_without_alt_gets_an_empty_alt_and_a_warning_with_its_line(compile_md):
    compiled = compile_md(issue("Intro.\n\n<p><img src=\"https://example.org/map.png\"></p>\n"))
    imgs = [a for a in Elements(compiled.html.source).all("img")
            if a.get("src") == "https://example.org/map.png"]
    assert len(imgs) == 1 and imgs[0]["alt"] == ""
    warnings = [f for f in compiled.findings if f.code == "img-alt"]
    assert len(warnings) == 1  # with its line, not again without one
    assert warnings[0].level == "warning"
    assert warnings[0].message.startswith("line 8: image 'https://example.org/map.png'")


def test_an_inline_html_image_without_alt_is_reported_on_its_own_line(compile_md):
    compiled = compile_md(issue("Intro.\n\nSee the map\nhere: <img src=\"https://example.org/m.png\">\n"))
    assert [f.message.split(":")[0] for f in compiled.findings if f.code == "img-alt"] == [
        "line 9"]
    assert 'alt=""' in compiled.html.source


def test_a_raw_html_image_with_alt_is_left_as_written(compile_md):
    compiled = compile_md(issue('<p><img src="https://example.org/map.png" alt="Map"></p>\n'))
    assert [a["alt"] for a in Elements(compiled.html.source).all("img")
            if a.get("src") == "https://example.org/map.png"] == ["Map"]
    assert not [f for f in compiled.findings if f.code == "img-alt"]


def test_the_raw_seeds_all_caps_subject_gets_a_warning_with_the_reason():
    compiled = render(SEED.read_text(encoding="utf-8"))
    assert compiled.subject == "RETURNING HOME"
    [warning] = [f for f in compiled.findings if f.code == "subject-caps"]
    assert warning.level == "warning"
    assert "SUBJ_ALL_CAPS" in warning.message and "'Returning home'" in warning.message


@pytest.mark.parametrize("subject", ["ВОЗВРАЩЕНИЕ ДОМОЙ", "NEWS FROM THE REGION, JULY 2020"])
def test_a_subject_in_capitals_is_warned_about(subject):
    assert [f.code for f in subject_findings(subject)] == ["subject-caps"]


@pytest.mark.parametrize("subject", ["IOM", "IOM UNHCR", "IOM news from Central Asia",
                                     "Returning home", "COVID-19 update №3", "IOM-2020-07-10"])
def test_acronyms_and_ordinary_subjects_are_not_warned_about(subject):
    assert subject_findings(subject) == []


@pytest.mark.django_db
def test_the_render_issue_command_prints_the_new_warnings():
    source = SEED.read_text(encoding="utf-8") + '\n<p><img src="https://example.org/x.png"></p>\n'
    issue_id = issue_import(source, language="en", slug="caps").issue.pk
    err = io.StringIO()
    call_command("render_issue", str(issue_id), "--format", "text", "-o", "/dev/null",
                 stdout=io.StringIO(), stderr=err)
    assert "[subject-caps]" in err.getvalue() and "[img-alt]" in err.getvalue()
    assert Issue.objects.filter(pk=issue_id).exists()
