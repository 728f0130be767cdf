"""One email's unsubscribe link leaves every list through which that issue reached the person."""

from __future__ import annotations

import pytest
from django.test import Client

from mailer.issues.models import Issue
from mailer.sending.models import Send
from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.tokens import unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup() -> tuple[Subscriber, MailingList, MailingList, MailingList, Send]:
    person = Subscriber.objects.create(email="dana@example.org", email_hash=email_hash("dana@example.org"))
    partners, public, press = (MailingList.objects.create(slug=s, name=s.title())
                               for s in ("partners", "public", "press"))
    for mlist in (partners, public, press):
        Subscription.objects.create(subscriber=person, mailing_list=mlist, status="confirmed")
    send = Send.objects.create(issue=Issue.objects.create(slug="i3", title="Issue 3"))
    send.lists.set([partners, public])
    return person, partners, public, press, send


def statuses(person: Subscriber) -> dict[str, str]:
    return dict(Subscription.objects.filter(subscriber=person)
                .values_list("mailing_list__slug", "status"))


def test_a_one_click_post_leaves_every_list_of_that_send(setup) -> None:  # type: ignore[no-untyped-def]
    person, partners, _public, _press, send = setup
    response = Client(enforce_csrf_checks=True).post(
        f"/u/{unsubscribe_token(person.pk, partners.pk, send.pk)}/",
        "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert statuses(person) == {"partners": "unsubscribed", "public": "unsubscribed",
                                "press": "confirmed"}


def test_a_token_without_a_send_leaves_only_its_list(setup) -> None:  # type: ignore[no-untyped-def]
    person, partners, *_ = setup
    Client().post(f"/u/{unsubscribe_token(person.pk, partners.pk)}/", {"List-Unsubscribe": "One-Click"})
    assert statuses(person) == {"partners": "unsubscribed", "public": "confirmed", "press": "confirmed"}


def test_the_confirmation_page_names_every_list_it_will_leave(setup) -> None:  # type: ignore[no-untyped-def]
    person, partners, _public, _press, send = setup
    page = Client().get(f"/u/{unsubscribe_token(person.pk, partners.pk, send.pk)}/").content.decode()
    assert "Partners, Public" in page
    assert statuses(person)["partners"] == "confirmed"
