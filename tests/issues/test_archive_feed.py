"""The public archive and its Atom feed: what is listed (public issues only), what each
entry says (RFC 4287: ids, updated, titles, language), and the page per issue."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.issues.services import web_version_url
from mailer.sending.models import Send
from subscribers.models import MailingList
from tests.rendering.conftest import Elements

pytestmark = [pytest.mark.django_db]
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def sent(issue: Issue, *, visibility: str = "public", status: str = Send.Status.DONE,
         started: dt.datetime | None = None) -> Send:
    send = Send.objects.create(issue=issue, status=Send.Status.DRAFT)
    send.lists.add(MailingList.objects.create(slug=f"list-{send.pk}", name=f"List {send.pk}",
                                              visibility=visibility))
    Send.objects.filter(pk=send.pk).update(status=status, started_at=started or timezone.now())
    return send


def feed(client: Client) -> ET.Element:
    response = client.get("/archive/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own output, under test


def entries(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{ATOM}entry")


# --- who is public ------------------------------------------------------------------------

def test_a_draft_is_in_neither_the_archive_nor_the_feed_and_its_page_404s(client, seed_issue):
    Send.objects.create(issue=seed_issue, status=Send.Status.DRAFT)
    assert seed_issue.title not in client.get("/archive/").content.decode()
    assert entries(feed(client)) == []
    assert client.get(f"/archive/{seed_issue.slug}/en/").status_code == 404
    assert client.get(f"/archive/{seed_issue.slug}/en/email/").status_code == 404


def test_an_issue_sent_to_a_private_list_is_in_neither_and_its_pages_404(client, seed_issue):
    sent(seed_issue, visibility="private")
    assert seed_issue.title not in client.get("/archive/").content.decode()
    assert entries(feed(client)) == []
    for path in ("", "email/"):
        assert client.get(f"/archive/{seed_issue.slug}/ru/{path}").status_code == 404


def test_a_cancelled_send_to_a_public_list_publishes_nothing(client, seed_issue):
    sent(seed_issue, status=Send.Status.CANCELLED)
    assert entries(feed(client)) == []


def test_an_issue_marked_public_is_in_the_feed_once_sent(client, seed_issue):
    Issue.objects.filter(pk=seed_issue.pk).update(archive_public=True)
    assert entries(feed(client)) == []
    sent(seed_issue, visibility="private")
    assert len(entries(feed(client))) == 2


# --- the feed ---------------------------------------------------------------------------------

def test_the_feed_has_one_entry_per_language_linking_to_the_issue_pages(client, seed_issue,
                                                                       settings):
    settings.SITE_URL = "https://news.example.org"
    sent(seed_issue, started=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC))
    found = {e.get(XML_LANG): e for e in entries(feed(client))}
    assert set(found) == {"en", "ru"}
    for language, entry in found.items():
        links = entry.findall(f"{ATOM}link")
        assert [link.get("href") for link in links] == [
            f"https://news.example.org/archive/{seed_issue.slug}/{language}/"]
        variant = seed_issue.variants.get(language=language)
        assert entry.findtext(f"{ATOM}title") == variant.subject
        assert entry.findtext(f"{ATOM}id") == (
            f"tag:news.example.org,2026-11-02:/archive/{seed_issue.slug}/{language}")
        assert entry.findtext(f"{ATOM}published") == "2026-11-02T09:30:00+00:00"
        assert entry.findtext(f"{ATOM}updated")
        assert entry.findtext(f"{ATOM}summary") == variant.preheader


def test_the_feed_has_what_rfc_4287_requires_of_a_feed(client, seed_issue, settings):
    settings.SITE_URL = "https://news.example.org"
    sent(seed_issue)
    root = feed(client)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == "https://news.example.org/archive/"
    assert root.findtext(f"{ATOM}title")
    assert root.findtext(f"{ATOM}updated")
    assert root.findtext(f"{ATOM}author/{ATOM}name")  # entries have no author of their own
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert rels == {"alternate": "https://news.example.org/archive/",
                    "self": "https://news.example.org/archive/feed/"}


def test_entry_ids_stay_the_same_when_the_issue_is_edited(client, seed_issue):
    sent(seed_issue)
    before = sorted(e.findtext(f"{ATOM}id") for e in entries(feed(client)))
    variant = seed_issue.variants.get(language="en")
    variant.subject = "Corrected subject"
    variant.save()
    after = feed(client)
    assert sorted(e.findtext(f"{ATOM}id") for e in entries(after)) == before
    english = next(e for e in entries(after) if e.get(XML_LANG) == "en")
    assert english.findtext(f"{ATOM}title") == "Corrected subject"
    assert english.findtext(f"{ATOM}updated") >= english.findtext(f"{ATOM}published")


def test_the_newest_issue_comes_first(client, seed_issue):
    older = Issue.objects.create(slug="older", title="Older issue", number=2,
                                 date=dt.date(2020, 5, 1))
    older.variants.create(language="en", subject="Older subject",
                          source_markdown="# Older\n\nText.\n")
    sent(older)
    sent(seed_issue)
    titles = [e.findtext(f"{ATOM}title") for e in entries(feed(client))]
    assert titles[-1] == "Older subject"
    page = client.get("/archive/").content.decode()
    assert page.index(seed_issue.title) < page.index("Older issue")


# --- the archive and the page per issue ---------------------------------------------------

def test_the_archive_advertises_the_feed_and_lists_date_number_and_languages(client, seed_issue):
    sent(seed_issue)
    page = client.get("/archive/").content.decode()
    doc = Elements(page)
    feeds = [link for link in doc.all("link") if link.get("rel") == "alternate"]
    assert len(feeds) == 1
    assert feeds[0]["type"] == "application/atom+xml" and feeds[0]["href"] == "/archive/feed/"
    assert "Issue №3" in page
    assert '<time datetime="2020-07-10">' in page
    hrefs = {a.get("href") for a in doc.all("a")}
    assert {f"/archive/{seed_issue.slug}/en/", f"/archive/{seed_issue.slug}/ru/"} <= hrefs


def test_the_issue_page_has_the_site_frame_a_language_switch_and_a_subscribe_link(
        client, seed_issue):
    send = sent(seed_issue)
    page = client.get(f"/archive/{seed_issue.slug}/en/").content.decode()
    doc = Elements(page)
    assert doc.all("header") and doc.all("footer")
    switch = [a for a in doc.all("a") if a.get("hreflang") == "ru"]
    assert [a["href"] for a in switch] == [f"/archive/{seed_issue.slug}/ru/"]
    public_list = send.lists.get()
    assert f"/subscribe/{public_list.slug}/?lang=en" in page
    frame = doc.all("iframe")[0]
    assert frame["src"] == f"/archive/{seed_issue.slug}/en/email/"


def test_the_russian_page_is_in_russian(client, seed_issue):
    sent(seed_issue)
    page = client.get(f"/archive/{seed_issue.slug}/ru/").content.decode()
    assert Elements(page).all("html")[0]["lang"] == "ru"
    assert "Все выпуски" in page


def test_a_recipients_key_carries_over_to_the_other_language_and_the_frame(client, seed_issue,
                                                                          settings):
    private = sent(seed_issue, visibility="private").lists.get()
    link = web_version_url(seed_issue, "en").removeprefix(settings.SITE_URL)
    page = client.get(link).content.decode()
    doc = Elements(page)
    ru_link = next(a["href"] for a in doc.all("a") if a.get("hreflang") == "ru")
    assert client.get(ru_link).status_code == 200
    assert client.get(doc.all("iframe")[0]["src"]).status_code == 200
    assert f"/subscribe/{private.slug}/" not in page  # never invites to a private list


def test_the_framed_email_opens_its_links_in_the_whole_tab(client, seed_issue):
    sent(seed_issue)
    html = client.get(f"/archive/{seed_issue.slug}/en/email/").content.decode()
    assert '<base target="_top">' in html.split("</head>")[0]


def test_the_archive_speaks_the_language_it_is_asked_for(client, seed_issue):
    sent(seed_issue)
    page = client.get("/archive/?lang=ru").content.decode()
    assert Elements(page).all("html")[0]["lang"] == "ru"
    assert "Архив бюллетеня" in page and "Выпуск №3" in page
    english = [a for a in Elements(page).all("a") if a.get("href") == "?lang=en"]
    assert len(english) == 1
