"""Consent that sticks (issue 10, item 3): after a person unsubscribes, only their own click
on a fresh confirmation link brings them back; a used confirmation link does nothing the
second time; consent records are appended, never overwritten."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from subscribers import services
from subscribers.models import ConsentRecord, MailingList, Subscriber, Subscription, Suppression
from subscribers.tokens import unsubscribe_token


@pytest.fixture(autouse=True)
def local_mail_and_fresh_limits(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()


def form(email: str) -> dict[str, str]:
    return {"email": email, "name": "Someone Else", "language": "en", "consent": "on"}


def confirm_path(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/confirm/\S+/)", message.body)
    assert found is not None
    return found.group(1)


def status_of(sub: Subscriber, mlist: MailingList) -> str:
    return Subscription.objects.get(subscriber=sub, mailing_list=mlist).status


def test_after_a_one_click_unsubscribe_a_form_post_to_a_single_opt_in_list_only_asks_to_confirm(
        people: dict[str, Subscriber], public_list: MailingList, subscribe: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    aida = people["aida"]
    subscribe(aida, public_list)
    Client().post(f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/",
                  {"List-Unsubscribe": "One-Click"})
    assert status_of(aida, public_list) == "unsubscribed"

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/subscribe/{public_list.slug}/", form(aida.email))
    assert response.status_code == 200
    assert status_of(aida, public_list) == "unconfirmed"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [aida.email]

    Client().post(confirm_path(mail.outbox[0]))  # the person's own click
    assert status_of(aida, public_list) == "confirmed"


def test_after_leaving_everything_a_single_opt_in_form_post_starts_double_opt_in(
        people: dict[str, Subscriber], public_list: MailingList, subscribe: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    aida = people["aida"]
    subscribe(aida, public_list)
    services.leave_everything(aida, actor="subscriber:web")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/subscribe/{public_list.slug}/", form(aida.email))
    assert status_of(aida, public_list) == "unconfirmed"
    assert Suppression.objects.filter(email_hash=aida.email_hash).exists()
    assert len(mail.outbox) == 1


def test_a_used_confirmation_link_replayed_after_leaving_does_nothing_and_says_so(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/subscribe/{double_list.slug}/", form("new@example.org"))
    path = confirm_path(mail.outbox[0])
    assert Client().post(path).status_code == 200
    person = Subscriber.objects.get(email="new@example.org")
    services.leave_everything(person, actor="subscriber:web")

    replay = Client().post(path)
    assert replay.status_code == 410
    assert "already been used" in replay.content.decode()
    assert status_of(person, double_list) == "unsubscribed"
    assert Suppression.objects.filter(email_hash=person.email_hash).exists()


def test_a_form_post_appends_a_consent_record_and_keeps_the_earlier_ones(
        people: dict[str, Subscriber], public_list: MailingList, subscribe: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    aida = people["aida"]
    services.subscription_set(aida, public_list, "confirmed", actor="admin", method="import",
                              source="partners.csv", consent_text="signed paper form")
    services.unsubscribe(aida, public_list, actor="subscriber:web")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/subscribe/{public_list.slug}/", form(aida.email),
                      REMOTE_ADDR="203.0.113.66")
    Client().post(confirm_path(mail.outbox[0]))

    history = list(ConsentRecord.objects.filter(subscriber=aida).order_by("pk")
                   .values_list("status", "method", "ip", "text"))
    assert [row[:2] for row in history] == [("confirmed", "import"), ("unconfirmed", "form"),
                                            ("confirmed", "double-opt-in")]
    assert history[0][3] == "signed paper form" and history[1][2] == "203.0.113.66"
    assert [c["method"] for c in services.subscriber_data(aida)["consents"]] == [
        "import", "form", "double-opt-in"]


def test_a_consent_record_cannot_be_changed(people: dict[str, Subscriber],
                                            public_list: MailingList) -> None:
    services.subscription_set(people["aida"], public_list, "confirmed", actor="admin",
                              method="import")
    record = ConsentRecord.objects.get()
    record.text = "something else"
    with pytest.raises(ValueError, match="never changed"):
        record.save()
