"""The public archive and its feed in a real browser: the archive advertises the feed, the
feed's entries open their issue pages with the email in the site's frame, the language
switch works, and the archive, an issue page and the subscribe page fit a 375 px phone
without sideways scrolling. Screenshots at 1280 and 375 px are kept as test artefacts in
``SCREENSHOT_DIR`` (default var/screenshots/)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from mailer.brand.models import Brand
from mailer.brand.services import brand_save
from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.sending.models import Send
from subscribers.models import MailingList

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "issues"
ATOM = "{http://www.w3.org/2005/Atom}"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots")


@pytest.fixture
def published(live_server: Any, settings: Any) -> Issue:
    """The seed (en + ru) sent to a public double opt-in list, with a brand saved."""
    settings.SITE_URL = live_server.url
    issue = issue_import((EXAMPLES / "iom-central-asia-03.md").read_text("utf-8"),
                         filename="iom-central-asia-03.md").issue
    issue_import((EXAMPLES / "iom-central-asia-03.ru.md").read_text("utf-8"),
                 filename="iom-central-asia-03.ru.md")
    mlist = MailingList.objects.create(slug="news", name="IOM Central Asia news",
                                       visibility="public", opt_in="double")
    send = Send.objects.create(issue=issue, status=Send.Status.DRAFT)
    send.lists.add(mlist)
    Send.objects.filter(pk=send.pk).update(status=Send.Status.DONE, started_at=timezone.now())
    brand_save(Brand(name_en="IOM Central Asia", name_ru="МОМ в Центральной Азии",
                     primary_colour="#00594f", accent_colour="#c2410c",
                     social_links=[{"label": "Facebook", "url": "https://www.facebook.com/IOM"}]))
    return issue


def _feed_links(page: Any, url: str) -> list[tuple[str, str]]:
    """(language, link) of each entry, fetched as a feed reader would."""
    response = page.request.get(url)
    assert response.ok and response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.body())  # noqa: S314 - our own output, under test
    return [(e.get("{http://www.w3.org/XML/1998/namespace}lang") or "",
             e.find(f"{ATOM}link").get("href"))  # type: ignore[union-attr]
            for e in root.findall(f"{ATOM}entry")]


def test_the_archive_advertises_a_feed_whose_entries_open_their_issue_pages(
        live_server: Any, page: Any, published: Issue) -> None:
    page.goto(f"{live_server.url}/archive/")
    advert = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    assert advert.count() == 1
    feed_url = page.evaluate("document.querySelector('link[type=\"application/atom+xml\"]').href")
    entries = _feed_links(page, feed_url)
    assert sorted(lang for lang, _link in entries) == ["en", "ru"]
    for language, link in entries:
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert page.locator("html").get_attribute("lang") == language
        email = page.frame_locator("iframe.email")
        assert email.locator("html").get_attribute("lang") == language
        assert email.locator("body").inner_text().strip()  # the email is shown, not an error


def test_the_language_switch_moves_between_the_variants(
        live_server: Any, page: Any, published: Issue) -> None:
    page.goto(f"{live_server.url}/archive/{published.slug}/en/")
    assert "DIRECT ASSISTANCE" in page.frame_locator("iframe.email").locator("body").inner_text()
    page.get_by_role("link", name="Русский").click()
    page.wait_for_url(f"**/archive/{published.slug}/ru/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("link", name="Все выпуски").count() == 1
    ru_body = page.frame_locator("iframe.email").locator("body").inner_text()
    assert "ПРЯМАЯ ПОМОЩЬ" in ru_body.upper()
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"**/archive/{published.slug}/en/")
    assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.parametrize("width", [1280, 375])
def test_public_pages_fit_the_screen_and_are_kept_as_screenshots(
        live_server: Any, browser: Any, published: Issue, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    pages = {"archive": "/archive/", "issue": f"/archive/{published.slug}/en/",
             "issue-ru": f"/archive/{published.slug}/ru/", "subscribe": "/subscribe/news/"}
    try:
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            page.locator("header.brand").wait_for()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 0
    finally:
        context.close()


def test_the_form_pasted_into_another_site_subscribes_and_lands_on_the_branded_page(
        live_server: Any, page: Any, published: Issue, admin_user: Any,
        eager_celery: None) -> None:
    """The snippet from the staff page, on a page of another origin (a browser's
    about:blank document: origin "null", no cookie of ours), posts cross-site."""
    import html
    import re

    from django.core import mail

    from subscribers.models import Subscription
    from tests.web.personas import signed_in

    staff_page = signed_in(admin_user).get("/audience/forms/").content.decode()
    form_url = re.search(r'href="(/audience/forms/\d+/)"', staff_page).group(1)  # type: ignore[union-attr]
    textarea = signed_in(admin_user).get(form_url).content.decode()
    snippet = html.unescape(re.search(r'id="snippet"[^>]*>(.*?)</textarea>', textarea, re.S).group(1))  # type: ignore[union-attr]
    page.set_content(f"<!doctype html><title>Partner site</title><h1>Our news</h1>{snippet}")
    page.get_by_label("Email address").fill("reader@example.org")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"{live_server.url}/subscribe/news/embed/")
    assert page.locator("header.brand").inner_text().strip().startswith("IOM Central Asia")
    assert "we have sent it an email" in page.locator("main").inner_text()
    assert Subscription.objects.get(subscriber__email="reader@example.org").status == "unconfirmed"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reader@example.org"]
