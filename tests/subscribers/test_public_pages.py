"""Public pages: subscribe with double opt-in, confirm, one-click unsubscribe (RFC 8058),
preferences, leaving everything, data download and erasure."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from subscribers.mail import Sent
from subscribers.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    TransactionalMail,
    email_hash,
)
from subscribers.tasks import MAIL_RETRIES, MAIL_RETRY_BASE_SECONDS, transactional_mail
from subscribers.tokens import preferences_token, unsubscribe_token


@pytest.fixture(autouse=True)
def local_mail_and_fresh_limits(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()


@pytest.fixture
def aida(people: dict[str, Subscriber], public_list: MailingList, subscribe: Any) -> Subscriber:
    subscribe(people["aida"], public_list)
    return people["aida"]


def csrf_client() -> Client:
    """A mail client or link scanner: no cookies, and CSRF checks switched on."""
    return Client(enforce_csrf_checks=True)


def status_of(sub: Subscriber, mlist: MailingList) -> str:
    return Subscription.objects.get(subscriber=sub, mailing_list=mlist).status


# --- one-click unsubscribe -----------------------------------------------------------------

def test_it_unsubscribes_on_a_one_click_post_as_gmail_sends_it(
        aida: Subscriber, public_list: MailingList) -> None:
    url = f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/"
    response = csrf_client().post(url, "List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert status_of(aida, public_list) == "unsubscribed"


def test_it_unsubscribes_on_a_multipart_one_click_post(
        aida: Subscriber, public_list: MailingList) -> None:
    url = f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/"
    response = csrf_client().post(url, {"List-Unsubscribe": "One-Click"})  # multipart
    assert response.status_code == 200
    assert status_of(aida, public_list) == "unsubscribed"


def test_it_records_who_unsubscribed_and_how(aida: Subscriber, public_list: MailingList) -> None:
    csrf_client().post(f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/",
                       {"List-Unsubscribe": "One-Click"}, REMOTE_ADDR="198.51.100.9")
    event = SubscriptionEvent.objects.filter(subscriber=aida).first()
    assert event is not None
    assert (event.old_status, event.new_status, event.actor, event.ip) == (
        "confirmed", "unsubscribed", "subscriber:one-click", "198.51.100.9")


def test_it_answers_a_repeated_one_click_post_harmlessly(
        aida: Subscriber, public_list: MailingList) -> None:
    url = f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/"
    csrf_client().post(url, {"List-Unsubscribe": "One-Click"})
    again = csrf_client().post(url, {"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert SubscriptionEvent.objects.filter(subscriber=aida).count() == 1


def test_it_does_not_unsubscribe_on_get(aida: Subscriber, public_list: MailingList) -> None:
    response = csrf_client().get(f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/")
    assert response.status_code == 200
    assert b'name="List-Unsubscribe" value="One-Click"' in response.content
    assert status_of(aida, public_list) == "confirmed"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace(":", ":x", 1),
    lambda t: "garbage",
])
def test_it_ignores_a_tampered_unsubscribe_token(aida: Subscriber, public_list: MailingList,
                                                 mangle: Any) -> None:
    token = mangle(unsubscribe_token(aida.pk, public_list.pk))
    response = csrf_client().post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code in (400, 404)
    assert status_of(aida, public_list) == "confirmed"


def test_it_refuses_a_preferences_token_used_as_an_unsubscribe_token(
        aida: Subscriber, public_list: MailingList) -> None:
    response = csrf_client().post(f"/u/{preferences_token(aida.pk)}/",
                                  {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert status_of(aida, public_list) == "confirmed"


def test_it_leaves_an_unsubscribed_address_out_of_the_next_send(
        aida: Subscriber, public_list: MailingList, people: dict[str, Subscriber],
        subscribe: Any, audience_of: Any) -> None:
    subscribe(people["bek"], public_list)
    csrf_client().post(f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/",
                       {"List-Unsubscribe": "One-Click"})
    assert audience_of([public_list]) == {"Bek"}


def test_it_suppresses_everything_for_a_token_without_a_list(
        aida: Subscriber, public_list: MailingList) -> None:
    csrf_client().post(f"/u/{unsubscribe_token(aida.pk, None)}/",
                       {"List-Unsubscribe": "One-Click"})
    assert status_of(aida, public_list) == "unsubscribed"
    assert Suppression.objects.get(email_hash=aida.email_hash).reason == "unsubscribed"


# --- subscribe and confirm -------------------------------------------------------------------

def form(email: str = "new@example.org", **extra: str) -> dict[str, str]:
    return {"email": email, "name": "New Person", "language": "en", "consent": "on", **extra}


def test_it_subscribes_to_a_single_opt_in_list_at_once(public_list: MailingList) -> None:
    response = Client().post("/subscribe/news/", form(), REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    sub = Subscription.objects.get(subscriber__email="new@example.org")
    assert (sub.status, sub.consent_method, sub.consent_ip) == ("confirmed", "form",
                                                                 "203.0.113.5")
    assert "I agree to receive News" in sub.consent_text


def test_it_sends_a_confirmation_link_for_a_double_opt_in_list(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/subscribe/digest/", form())
    sub = Subscription.objects.get(subscriber__email="new@example.org")
    assert sub.status == "unconfirmed"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.org"]
    link = re.search(r"https?://\S+/confirm/(\S+)/", mail.outbox[0].body)
    assert link is not None


def test_it_confirms_on_post_but_not_on_get(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/subscribe/digest/", form())
    path = re.search(r"https?://[^/\s]+(/confirm/\S+/)", mail.outbox[0].body).group(1)  # type: ignore[union-attr]
    client = Client()
    assert client.get(path).status_code == 200
    assert Subscription.objects.get().status == "unconfirmed"
    assert client.post(path).status_code == 200
    sub = Subscription.objects.get()
    assert (sub.status, sub.consent_method) == ("confirmed", "double-opt-in")


def test_it_refuses_a_forged_confirmation_link(double_list: MailingList) -> None:
    Client().post("/subscribe/digest/", form())
    response = Client().post("/confirm/WzEsImFiYyJd:1abc:forged/")
    assert response.status_code == 400
    assert Subscription.objects.get().status == "unconfirmed"


def test_it_answers_the_same_for_a_subscribed_and_a_new_address(
        aida: Subscriber, public_list: MailingList) -> None:
    known = Client().post("/subscribe/news/", form("aida@ngo.kz"))
    new = Client().post("/subscribe/news/", form("someone@example.org"))
    assert known.status_code == new.status_code == 200
    assert known.content.replace(b"aida@ngo.kz", b"") == new.content.replace(
        b"someone@example.org", b"")


def test_it_never_overwrites_a_known_persons_name_from_the_form(
        aida: Subscriber, public_list: MailingList) -> None:
    Client().post("/subscribe/news/", form("AIDA@ngo.kz", name="Mallory"))
    aida.refresh_from_db()
    assert aida.name == "Aida"


def test_it_ignores_a_bot_that_fills_the_honeypot(public_list: MailingList) -> None:
    response = Client().post("/subscribe/news/", form(website="http://spam.example"))
    assert response.status_code == 200
    assert not Subscriber.objects.exists()


def test_it_rate_limits_subscriptions_per_ip(public_list: MailingList) -> None:
    client = Client()
    codes = [client.post("/subscribe/news/", form(f"p{i}@example.org"),
                         REMOTE_ADDR="203.0.113.77").status_code for i in range(12)]
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429, 429]
    assert Subscriber.objects.count() == 10


def test_it_strips_line_breaks_from_a_name_given_in_the_form(public_list: MailingList) -> None:
    Client().post("/subscribe/news/", form(name="Eve\r\nBcc: victim@example.com"))
    assert Subscriber.objects.get().name == "Eve Bcc: victim@example.com"


def test_it_does_not_offer_a_private_list(db: None) -> None:
    MailingList.objects.create(slug="staff", name="Staff", visibility="private")
    assert Client().get("/subscribe/staff/").status_code == 404


def test_it_does_not_resubscribe_a_suppressed_address_on_a_single_opt_in_list(
        public_list: MailingList) -> None:
    Suppression.objects.create(email="x@example.org", email_hash=email_hash("x@example.org"),
                               reason="complaint")
    Client().post("/subscribe/news/", form("x@example.org"))
    assert not Subscription.objects.exists()


def test_it_shows_the_subscribe_page_in_russian(public_list: MailingList) -> None:
    response = Client().get("/subscribe/news/", HTTP_ACCEPT_LANGUAGE="ru")
    assert 'lang="ru"' in response.content.decode()
    assert "Подписаться" in response.content.decode()


# --- preferences, leaving, data, erasure ----------------------------------------------------

def test_it_escapes_a_hostile_name_on_the_preferences_page(aida: Subscriber) -> None:
    aida.name = '<script>alert(1)</script>'
    aida.save()
    response = Client().get(f"/p/{preferences_token(aida.pk)}/")
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_it_changes_lists_language_and_name_from_preferences(
        aida: Subscriber, public_list: MailingList, double_list: MailingList) -> None:
    response = Client().post(f"/p/{preferences_token(aida.pk)}/", {
        "name": "Aida S.", "language": "en", "lists": [str(double_list.pk)]})
    assert response.status_code == 200
    aida.refresh_from_db()
    assert (aida.name, aida.language) == ("Aida S.", "en")
    assert status_of(aida, public_list) == "unsubscribed"
    assert status_of(aida, double_list) == "confirmed"


def test_it_refuses_a_tampered_preferences_token(aida: Subscriber) -> None:
    token = preferences_token(aida.pk)
    response = Client().post(f"/p/{token[:-3]}xyz/", {"name": "Hacked", "language": "en"})
    assert response.status_code == 400
    aida.refresh_from_db()
    assert aida.name == "Aida"


def test_it_unsubscribes_everything_and_suppresses_on_leave(
        aida: Subscriber, public_list: MailingList) -> None:
    response = Client().post(f"/p/{preferences_token(aida.pk)}/leave/")
    assert response.status_code == 200
    assert status_of(aida, public_list) == "unsubscribed"
    assert Suppression.objects.get(email_hash=aida.email_hash).reason == "unsubscribed"


def test_it_downloads_a_persons_data(aida: Subscriber) -> None:
    response = Client().get(f"/p/{preferences_token(aida.pk)}/data/")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["email"] == "aida@ngo.kz"
    assert data["subscriptions"][0]["list"] == "news"


def test_it_erases_a_person_keeping_only_a_hash(aida: Subscriber) -> None:
    client = Client()
    token = preferences_token(aida.pk)
    assert client.get(f"/p/{token}/erase/").status_code == 200
    assert Subscriber.objects.filter(pk=aida.pk).exists()
    client.post(f"/p/{token}/erase/")
    assert not Subscriber.objects.filter(pk=aida.pk).exists()
    sup = Suppression.objects.get(email_hash=email_hash("aida@ngo.kz"))
    assert (sup.email, sup.reason) == ("", "erased")
    assert not Suppression.objects.filter(email__icontains="aida").exists()


def test_it_never_mails_an_erased_address_again_even_if_reimported(
        aida: Subscriber, public_list: MailingList) -> None:
    from subscribers.importer import import_csv

    Client().post(f"/p/{preferences_token(aida.pk)}/erase/")
    import_csv(b"email\nAida@ngo.kz\n", public_list)
    assert not Subscriber.objects.filter(email__iexact="aida@ngo.kz").exists()


# --- accessibility and mail transport -------------------------------------------------------

def test_it_labels_every_visible_field_of_the_subscribe_form(public_list: MailingList) -> None:
    from html.parser import HTMLParser

    class Fields(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inputs: list[str] = []
            self.labels: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag in ("input", "select") and a.get("type") not in ("hidden", "submit"):
                self.inputs.append(a.get("id") or "")
            if tag == "label":
                self.labels.add(a.get("for") or "")

    page = Fields()
    page.feed(Client().get("/subscribe/news/").content.decode())
    assert page.inputs
    assert set(page.inputs) <= page.labels


def test_it_writes_the_confirmation_in_the_subscribers_language(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/subscribe/digest/", form(language="ru"))
    assert "Подтвердите подписку" in mail.outbox[0].subject


def test_it_sends_one_address_only_a_few_confirmations_a_day(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    for i in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            Client().post("/subscribe/digest/", form(), REMOTE_ADDR=f"203.0.113.{i}")
    assert len(mail.outbox) == 3


def test_it_unsubscribes_without_a_redirect_when_the_slash_is_missing(
        aida: Subscriber, public_list: MailingList) -> None:
    response = csrf_client().post(f"/u/{unsubscribe_token(aida.pk, public_list.pk)}",
                                  {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(aida, public_list) == "unsubscribed"


def test_the_subscribe_request_queues_the_confirmation_instead_of_mailing_it(
        double_list: MailingList, django_capture_on_commit_callbacks: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(transactional_mail, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/subscribe/digest/", form())
    recorded = TransactionalMail.objects.get()
    assert (recorded.kind, recorded.status) == ("confirmation", "queued")
    assert queued == [recorded.pk]
    assert mail.outbox == []  # nothing went over the network in the request


def unconfirmed_subscription(double_list: MailingList) -> int:
    """A pending subscription's recorded confirmation mail (its id, as the task gets it)."""
    person = Subscriber.objects.create(email="new@example.org", email_hash=email_hash("new@example.org"))
    sub = Subscription.objects.create(subscriber=person, mailing_list=double_list,
                                      status="unconfirmed")
    return TransactionalMail.objects.create(kind="confirmation", subscriber=person,
                                            mailing_list=double_list, subscription=sub).pk


class RetryAsked(Exception):
    pass


def test_a_deferring_relay_schedules_a_retry_with_exponential_backoff(
        double_list: MailingList, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("subscribers.tasks.transactional_send", lambda pk: Sent.DEFERRED)
    monkeypatch.setattr(transactional_mail, "retry",
                        lambda countdown: RetryAsked(countdown))
    pk = unconfirmed_subscription(double_list)
    for retries, factor in [(0, 1), (2, 4)]:
        transactional_mail.push_request(retries=retries)
        try:
            with pytest.raises(RetryAsked) as asked:
                transactional_mail.run(pk)
        finally:
            transactional_mail.pop_request()
        assert asked.value.args == (factor * MAIL_RETRY_BASE_SECONDS,)


def test_a_deferring_relay_is_given_up_after_the_last_retry(
        double_list: MailingList, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("subscribers.tasks.transactional_send", lambda pk: Sent.DEFERRED)
    result = transactional_mail.apply(args=(unconfirmed_subscription(double_list),),
                                      retries=MAIL_RETRIES)
    assert (result.state, result.result) == ("SUCCESS", False)


def test_no_confirmation_goes_to_a_subscription_confirmed_meanwhile(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Client().post("/subscribe/digest/", form())
    Subscription.objects.update(status="confirmed")
    for callback in callbacks:
        callback()
    assert mail.outbox == []
