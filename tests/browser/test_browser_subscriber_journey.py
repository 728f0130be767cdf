"""The subscriber's journey in a real browser (issue 12): subscribe on the public form of a
double opt-in list, get the confirmation mail, confirm, get the welcome mail, change
language and lists on the preferences page, get the summary mail, unsubscribe.

Nothing is left out: the web app (live server) queues each mail's task in Redis when the
request commits, a real Celery worker process sends it over SMTP into an aiosmtpd sink and
records the outcome in the database. Every page and every mail's HTML is screenshotted at
1280 and 375 px into ``SCREENSHOT_DIR`` (default ``var/screenshots/``); no page may scroll
sideways at 375 px.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscription, TransactionalMail
from tests.sending import conftest as sending
from tests.sending.conftest import WorkerProcess

# The sending tests' fixtures: a Redis broker, a real SMTP sink, a Celery worker process.
broker, send_queue_name, send_redis_url = (
    sending.broker, sending.send_queue_name, sending.send_redis_url)
sink, worker_env, worker_factory = sending.sink, sending.worker_env, sending.worker_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (1280, 375)
WELCOME = """---
title: Welcome to the Central Asia Digest
preheader: "One issue a month: stories, figures and contacts from our offices."
---
Hello {{ first_name|default("friend") }}, thank you for joining. Once a month you will
receive stories from our offices, a few figures, and the contacts of each country office.

::: button href="https://news.example.org/archive/"
Read past issues
:::
"""


class Shots:
    """Screenshots of one journey at both widths, numbered in the order taken."""

    def __init__(self, page: Any) -> None:
        self.page, self.n = page, 0
        self.folder = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots")
        self.folder /= "subscriber-journey"
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def take(self, name: str) -> None:
        """Both widths; at 375 px nothing may be wider than the screen."""
        self.n += 1
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}-{width}.png"),
                                 full_page=True)
            if width == 375:
                overflow = self.page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 375 px"
        self.page.set_viewport_size({"width": WIDTHS[0], "height": 900})


@pytest.fixture
def mail_worker(worker_factory: Callable[..., WorkerProcess], send_queue_name: str,
                live_server: Any, settings: Any) -> Iterator[WorkerProcess]:
    """A Celery worker on a queue of this test's own (the Redis db is shared with other
    runs), building links on the live server's address."""
    from mailer.celery import app

    assert not app.conf.task_always_eager  # the worker process sends, not the web app
    before = app.conf.task_default_queue
    app.conf.task_default_queue = send_queue_name
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # not locmem
    yield worker_factory(SITE_URL=live_server.url)
    app.conf.task_default_queue = before


def mails(sink: SinkServer) -> list[EmailMessage]:
    return [email.message_from_bytes(p.read_bytes().split(b"\r\n", 2)[2],  # type: ignore[misc]
                                      policy=email.policy.default) for p in sink.messages()]


def mails_wait(sink: SinkServer, count: int, worker: WorkerProcess) -> list[EmailMessage]:
    """The sink's mails once there are ``count`` (the worker sends them a moment later)."""
    deadline = time.monotonic() + 60
    while len(sink.messages()) < count:
        assert worker.alive(), worker.log()
        assert time.monotonic() < deadline, f"{count} mails expected\n{worker.log()}"
        time.sleep(0.2)
    found = mails(sink)
    assert len(found) == count
    return found


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.iter_parts()
    return plain.get_content(), html.get_content()  # type: ignore[attr-defined]


def show_mail(page: Any, shots: Shots, message: EmailMessage, name: str) -> str:
    """Render the mail's HTML part in the browser, screenshot it; return its text part."""
    text, html = text_and_html(message)
    page.set_content(html)
    shots.take(f"mail-{name}")
    return text


def test_a_subscriber_goes_from_the_form_to_unsubscribing(
        live_server: Any, page: Any, sink: SinkServer, mail_worker: WorkerProcess) -> None:
    digest = MailingList.objects.create(
        slug="digest", name="Central Asia Digest", visibility="public", opt_in="double",
        description="Monthly news from our offices in Central Asia.", welcome_en=WELCOME)
    news = MailingList.objects.create(slug="news", name="Press releases", visibility="public",
                                      opt_in="single")
    shots = Shots(page)

    page.goto(f"{live_server.url}/subscribe/digest/")
    shots.take("subscribe")
    page.get_by_label("Email address").fill("aigerim@example.org")
    page.get_by_label("Name (optional)").fill("Aigerim Bekova")
    page.get_by_label("I agree to receive Central Asia Digest").check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    shots.take("subscribe-done")

    (confirmation,) = mails_wait(sink, 1, mail_worker)
    assert str(confirmation["Subject"]) == "Confirm your subscription to Central Asia Digest"
    text = show_mail(page, shots, confirmation, "confirmation")
    button = page.get_by_role("link", name="Yes, subscribe me")
    confirm_url = button.get_attribute("href")
    assert confirm_url is not None and f"{confirm_url}" in text

    page.goto(confirm_url)
    shots.take("confirm")
    page.get_by_role("button", name="Confirm subscription").click()
    page.get_by_role("heading", name="Subscription confirmed").wait_for()
    shots.take("confirm-done")
    assert Subscription.objects.get(mailing_list=digest).status == "confirmed"

    confirmation_mail, welcome = mails_wait(sink, 2, mail_worker)
    assert str(welcome["Subject"]) == "Welcome to the Central Asia Digest"
    welcome_text = show_mail(page, shots, welcome, "welcome")
    assert "Hello Aigerim, thank you for joining" in welcome_text
    unsubscribe_url = page.get_by_role("link", name="Unsubscribe").get_attribute("href")

    page.goto(confirm_url)  # the link again: nothing more to do
    page.get_by_role("heading", name="Already confirmed").wait_for()
    shots.take("confirm-again")

    page.get_by_role("link", name="Change your preferences").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    shots.take("preferences")
    page.get_by_label("Language of the newsletter").select_option("ru")
    page.get_by_label("Press releases").check()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_role("status").wait_for()  # "saved", now in Russian
    shots.take("preferences-saved")
    assert Subscription.objects.get(mailing_list=news).status == "confirmed"

    summary = mails_wait(sink, 3, mail_worker)[-1]
    assert str(summary["Subject"]) == "Настройки вашей подписки изменены"
    summary_text = show_mail(page, shots, summary, "preferences-changed")
    assert "Подписка оформлена: Press releases" in summary_text
    assert "Язык: Русский" in summary_text

    assert unsubscribe_url is not None and "/u/" in unsubscribe_url
    page.goto(unsubscribe_url)
    shots.take("unsubscribe")
    page.get_by_role("button", name="Отписаться").click()
    page.wait_for_load_state()
    shots.take("unsubscribe-done")
    assert Subscription.objects.get(mailing_list=digest).status == "unsubscribed"

    assert len(mails(sink)) == 3  # no mail for the unsubscribe
    assert re.match(r"<tm\.\d+\.", str(confirmation_mail["Message-ID"]))
    deadline = time.monotonic() + 10  # the worker records an outcome just after the sink has it
    while TransactionalMail.objects.exclude(status="sent").exists():
        assert time.monotonic() < deadline, mail_worker.log()
        time.sleep(0.2)
    kinds = list(TransactionalMail.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["confirmation", "welcome", "preferences_changed"]
