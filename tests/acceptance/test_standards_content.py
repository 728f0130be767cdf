"""STANDARDS.md rows 20-24: the decoded HTML and text of every message the real send
pipeline delivered (parsed, not grepped), per recipient and language variant."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from subscribers.models import Subscriber
from tests.acceptance.conftest import HtmlDocument, SendOutcome

GMAIL_CLIP_BYTES = 102 * 1024
MERGE_SYNTAX = re.compile(r"\{\{|\}\}|\{%")
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>()\"']+")


# --- row 20: under Gmail's clipping limit ----------------------------------------------------

def test_row_20_the_html_part_is_under_102_kb(sent: SendOutcome) -> None:
    for m in sent.messages:
        size = len(m.part("html").get_payload(decode=True))  # type: ignore[arg-type]
        assert size < GMAIL_CLIP_BYTES, (m.envelope_to, size)


# --- row 21: preheader ------------------------------------------------------------------------

def test_row_21_the_first_hidden_div_holds_the_variants_preheader_of_40_to_130_chars(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        hidden = [d for d in HtmlDocument(m.html).all("div") if d.hidden]
        assert hidden, f"no hidden div for {m.envelope_to}"
        preheader = " ".join(hidden[0].text.split())
        assert 40 <= len(preheader) <= 130, (m.envelope_to, len(preheader), preheader)
        assert preheader == " ".join(sent.delivery(person).variant.preheader.split())


def test_row_21_the_preheader_comes_before_any_visible_text(sent: SendOutcome) -> None:
    for m in sent.messages:
        texts = [t for t in HtmlDocument(m.html).texts if "body" in t.ancestors and t.text.strip()]
        assert texts and texts[0].hidden, (m.envelope_to, texts[0].text[:60])


# --- row 22: accessibility -----------------------------------------------------------------------

def test_row_22_html_lang_follows_the_recipients_variant(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        html = HtmlDocument(sent.to(person).html).all("html")
        assert len(html) == 1
        assert html[0].get("lang") == sent.delivery(person).variant.language
    assert HtmlDocument(sent.to(people["bakhyt"]).html).all("html")[0].get("lang") == "ru"
    assert HtmlDocument(sent.to(people["zhanna"]).html).all("html")[0].get("lang") == "ru"
    assert HtmlDocument(sent.to(people["aigerim"]).html).all("html")[0].get("lang") == "en"


def test_row_22_the_title_is_not_empty(sent: SendOutcome) -> None:
    for m in sent.messages:
        titles = HtmlDocument(m.html).all("title")
        assert len(titles) == 1 and titles[0].text.strip(), m.envelope_to
        assert "head" in titles[0].ancestors


def test_row_22_every_layout_table_has_role_presentation(sent: SendOutcome) -> None:
    for m in sent.messages:
        tables = HtmlDocument(m.html).all("table")
        assert tables
        wrong = [t.attrs for t in tables if t.get("role") != "presentation"]
        assert not wrong, (m.envelope_to, wrong[:2])


def test_row_22_every_image_has_alt_and_every_linked_image_a_text_alternative(
        sent: SendOutcome) -> None:
    for m in sent.messages:
        images = HtmlDocument(m.html).all("img")
        assert images
        assert all(img.get("alt") is not None for img in images), m.envelope_to
        linked = [img for img in images if "a" in img.ancestors]
        assert all((img.get("alt") or "").strip() for img in linked), (
            m.envelope_to, [img.get("src") for img in linked if not (img.get("alt") or "").strip()])


# --- row 23: dark mode ----------------------------------------------------------------------------

def test_row_23_color_scheme_metas_in_the_head_say_light_dark(sent: SendOutcome) -> None:
    for m in sent.messages:
        metas = {e.get("name"): e for e in HtmlDocument(m.html).all("meta") if e.get("name")}
        for name in ("color-scheme", "supported-color-schemes"):
            assert name in metas, (m.envelope_to, name)
            assert metas[name].get("content") == "light dark"
            assert "head" in metas[name].ancestors


# --- row 24: no merge tags left, https links only -------------------------------------------------

def test_row_24_no_merge_tag_is_left_in_any_part_or_header(sent: SendOutcome) -> None:
    for m in sent.messages:
        for name, value in m.message.items():
            assert not MERGE_SYNTAX.search(str(value)), (m.envelope_to, name)
        for part in m.message.walk():
            if part.get_content_maintype() == "text":
                content = part.get_content()  # type: ignore[attr-defined]
                assert not MERGE_SYNTAX.search(content), (m.envelope_to, part.get_content_type())


def test_row_24_the_merge_fields_were_filled_for_each_recipient(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """The positive side of the check above: each greeting names its reader."""
    greetings = {"aigerim": "Hello Aigerim,", "bakhyt": "Здравствуйте, Бахытжан!",
                 "zhanna": "Здравствуйте, Жанна!",
                 "noname": "Hello colleague,"}
    for key, greeting in greetings.items():
        m = sent.to(people[key])
        assert greeting in m.text, (key, m.text[:300])
        assert greeting in " ".join(HtmlDocument(m.html).elements[0].text.split()), key


def test_row_24_every_link_in_the_html_is_https_or_mailto(sent: SendOutcome) -> None:
    for m in sent.messages:
        doc = HtmlDocument(m.html)
        hrefs = [a.get("href") or "" for a in doc.all("a") + doc.all("area")]
        assert hrefs
        bad = [h for h in hrefs if urlsplit(h).scheme not in ("https", "mailto")]
        assert not bad, (m.envelope_to, bad)
        images = [img.get("src") or "" for img in doc.all("img")]
        assert all(urlsplit(src).scheme == "https" for src in images), (m.envelope_to, images)


def test_row_24_every_link_in_the_text_is_https(sent: SendOutcome) -> None:
    for m in sent.messages:
        urls = URL_IN_TEXT.findall(m.text)
        assert urls
        bad = [u for u in urls if not u.startswith("https://")]
        assert not bad, (m.envelope_to, bad)
