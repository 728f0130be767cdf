"""The public pages in a real browser at phone width: subscribe, then unsubscribe by button."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.tokens import unsubscribe_token

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} and REQUIRE_SERVICES=1")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between browser steps
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="ru-RU")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_it_subscribes_from_a_phone_in_russian(phone: Any, live_server: Any) -> None:
    MailingList.objects.create(slug="news", name="News", visibility="public")
    phone.goto(f"{live_server.url}/subscribe/news/")
    assert phone.locator("html").get_attribute("lang") == "ru"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    phone.get_by_label("Адрес электронной почты").fill("phone@example.org")
    phone.get_by_label("Имя (необязательно)").fill("Телефон")
    phone.locator("#id_consent").check()
    phone.get_by_role("button", name="Подписаться").click()
    phone.get_by_role("heading", name="Спасибо").wait_for()
    sub = Subscription.objects.get(subscriber__email="phone@example.org")
    assert sub.status == "confirmed"


def test_it_unsubscribes_with_the_button_after_a_get_changed_nothing(
        phone: Any, live_server: Any) -> None:
    mlist = MailingList.objects.create(slug="news", name="News", visibility="public")
    person = Subscriber.objects.create(email="p@example.org", email_hash=email_hash(
        "p@example.org"), language="ru")
    Subscription.objects.create(subscriber=person, mailing_list=mlist)
    phone.goto(f"{live_server.url}/u/{unsubscribe_token(person.pk, mlist.pk)}/")
    assert Subscription.objects.get().status == "confirmed"
    phone.get_by_role("button", name="Отписаться").click()
    phone.get_by_role("heading", name="Вы отписаны").wait_for()
    assert Subscription.objects.get().status == "unsubscribed"
