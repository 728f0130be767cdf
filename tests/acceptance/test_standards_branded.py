"""A branded send: the brand an Admin saved is in every message's chrome (logo, name in the
recipient's language, colours, social links, postal address, Reply-To), and STANDARDS.md
rows 9, 22 and 24 still hold for what the real pipeline delivered."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from mailer.brand.models import Brand
from mailer.brand.services import brand_save
from mailer.issues.models import Issue
from subscribers.models import MailingList, Subscriber
from tests.acceptance.conftest import HtmlDocument, Sender, SendOutcome

SOCIAL = "Facebook https://www.facebook.com/IOMCentralAsia\nOur website https://www.iom.int"


@pytest.fixture
def branded(db: None) -> Brand:
    brand = Brand(name_en="IOM Central Asia", name_ru="МОМ в Центральной Азии",
                  primary_colour="#00594f", accent_colour="#c2410c",
                  postal_address="Mangilik El 55/22, Astana",
                  social_links=[{"label": "Facebook", "url": "https://www.facebook.com/IOMCentralAsia"},
                                {"label": "Our website", "url": "https://www.iom.int"}],
                  reply_to="press@news.example.org", logo_width=160, logo_height=64)
    brand.logo.name = "brand/logo.png"
    brand_save(brand)
    return brand


@pytest.fixture
def branded_send(branded: Brand, sender: Sender, issue: Issue, lists: dict[str, MailingList],
                 people: dict[str, Subscriber]) -> SendOutcome:
    # Untracked, so links read as the Admin typed them (tracking has its own tests).
    MailingList.objects.update(tracking_mode="off")
    outcome = sender.send(issue, [lists["partners"], lists["public"]])
    assert len(outcome.messages) == len(people)
    return outcome


def test_every_message_carries_one_reply_to_of_the_brand(branded_send: SendOutcome) -> None:
    for m in branded_send.messages:
        assert m.message.get_all("Reply-To") == ["press@news.example.org"], m.envelope_to
        assert len(m.message.get_all("From")) == 1  # row 9 unchanged


def test_the_masthead_shows_the_logo_and_the_name_in_the_recipients_language(
        branded_send: SendOutcome, people: dict[str, Subscriber]) -> None:
    english = HtmlDocument(branded_send.to(people["aigerim"]).html)
    russian = HtmlDocument(branded_send.to(people["zhanna"]).html)
    for doc, name in ((english, "IOM Central Asia"), (russian, "МОМ в Центральной Азии")):
        logos = [img for img in doc.all("img")
                 if img.get("src") == "https://news.example.org/media/brand/logo.png"]
        assert len(logos) == 1
        assert logos[0].get("alt") == name and logos[0].get("width") == "120"
        assert "a" in logos[0].ancestors  # linked to the archive, with a text alternative


def test_the_chrome_uses_the_brand_colours_not_the_defaults(branded_send: SendOutcome) -> None:
    for m in branded_send.messages:
        assert "#00594f" in m.html and "#c2410c" in m.html
        assert "#0033a0" not in m.html.lower() and "#418fde" not in m.html.lower()


def test_the_footer_has_the_social_links_and_the_address_in_both_parts(
        branded_send: SendOutcome) -> None:
    for m in branded_send.messages:
        hrefs = {a.get("href") for a in HtmlDocument(m.html).all("a")}
        assert {"https://www.facebook.com/IOMCentralAsia", "https://www.iom.int"} <= hrefs
        assert "Mangilik El 55/22, Astana" in m.html
        footer = re.split(r"\n-- \r?\n", m.text)[-1]
        assert "Facebook: https://www.facebook.com/IOMCentralAsia" in footer
        assert "Our website: https://www.iom.int" in footer
        assert "Mangilik El 55/22, Astana" in footer


def test_row_22_every_image_of_the_branded_chrome_has_alt(branded_send: SendOutcome) -> None:
    for m in branded_send.messages:
        images = HtmlDocument(m.html).all("img")
        assert images
        assert all(img.get("alt") is not None for img in images), m.envelope_to
        linked = [img for img in images if "a" in img.ancestors]
        assert all((img.get("alt") or "").strip() for img in linked), m.envelope_to


def test_row_24_every_link_of_the_branded_chrome_is_https_or_mailto(
        branded_send: SendOutcome) -> None:
    for m in branded_send.messages:
        for a in HtmlDocument(m.html).all("a"):
            href = a.get("href") or ""
            assert urlsplit(href).scheme in ("https", "mailto"), (m.envelope_to, href)
        assert not re.search(r"\{\{|\}\}|\{%", m.html + m.text)
