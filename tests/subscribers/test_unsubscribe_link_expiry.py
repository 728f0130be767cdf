"""Unsubscribe links expire after UNSUBSCRIBE_LINK_MAX_AGE_DAYS; an expired one changes
nothing and offers a fresh preferences link by email; no unsubscribe page hands out a
preferences link (issue 10: each GET used to mint a fresh one)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.tokens import preferences_token_read, unsubscribe_token

DAY = 86400


@pytest.fixture(autouse=True)
def local_mail_and_fresh_limits(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()


@pytest.fixture
def aida(people: dict[str, Subscriber], public_list: MailingList, subscribe: Any) -> Subscriber:
    subscribe(people["aida"], public_list)
    return people["aida"]


def token_made_days_ago(days: int, sub: Subscriber, mlist: MailingList,
                        monkeypatch: pytest.MonkeyPatch) -> str:
    then = time.time() - days * DAY
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: then)
        return unsubscribe_token(sub.pk, mlist.pk)


def status_of(sub: Subscriber, mlist: MailingList) -> str:
    return Subscription.objects.get(subscriber=sub, mailing_list=mlist).status


def test_an_expired_link_changes_nothing_and_offers_a_new_one_by_email(
        aida: Subscriber, public_list: MailingList, monkeypatch: pytest.MonkeyPatch,
        settings: Any) -> None:
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 365
    url = f"/u/{token_made_days_ago(366, aida, public_list, monkeypatch)}/"
    page = Client().get(url)
    assert page.status_code == 410
    assert "subscribers/unsubscribe_expired.html" in [t.name for t in page.templates]
    assert 'name="send_link"' in page.content.decode()
    assert Client().post(url, {"List-Unsubscribe": "One-Click"}).status_code == 410
    assert status_of(aida, public_list) == "confirmed"


def test_a_link_within_the_configured_age_still_unsubscribes(
        aida: Subscriber, public_list: MailingList, monkeypatch: pytest.MonkeyPatch,
        settings: Any) -> None:
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 60
    fresh = token_made_days_ago(59, aida, public_list, monkeypatch)
    old = token_made_days_ago(61, aida, public_list, monkeypatch)
    assert Client().post(f"/u/{old}/", {"List-Unsubscribe": "One-Click"}).status_code == 410
    assert Client().post(f"/u/{fresh}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert status_of(aida, public_list) == "unsubscribed"


def test_the_expired_page_mails_a_preferences_link_to_the_address_of_record_only(
        aida: Subscriber, public_list: MailingList, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    url = f"/u/{token_made_days_ago(400, aida, public_list, monkeypatch)}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url, {"send_link": "1", "email": "attacker@example.org"})
    assert response.status_code == 200
    assert "subscribers/link_sent.html" in [t.name for t in response.templates]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [aida.email]
    token = re.search(r"/p/([^/\s]+)/", mail.outbox[0].body).group(1)  # type: ignore[union-attr]
    assert preferences_token_read(token) == aida.pk
    assert status_of(aida, public_list) == "confirmed"


def test_unsubscribe_pages_never_show_a_preferences_link(
        aida: Subscriber, public_list: MailingList) -> None:
    url = f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/"
    first, second = Client().get(url).content.decode(), Client().get(url).content.decode()
    assert "/p/" not in first and "/p/" not in second
    done = Client().post(url, {"List-Unsubscribe": "One-Click"}).content.decode()
    assert "/p/" not in done and 'name="send_link"' in done
