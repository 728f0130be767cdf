"""Erasure also removes the address from the delivery ledger of past sends."""

from __future__ import annotations

import pytest

from mailer.issues.models import Issue, IssueVariant
from mailer.sending.models import Delivery, Send
from subscribers.models import Subscriber, email_hash
from subscribers.services import subscriber_erase

pytestmark = pytest.mark.django_db


def test_erasure_blanks_the_address_in_past_deliveries_and_keeps_the_counts() -> None:
    person = Subscriber.objects.create(email="aida@ngo.kz", email_hash=email_hash("aida@ngo.kz"))
    issue = Issue.objects.create(slug="i3", title="Issue 3")
    variant = IssueVariant.objects.create(issue=issue, language="en", source_markdown="x", subject="x")
    send = Send.objects.create(issue=issue, status=Send.Status.DONE)
    Delivery.objects.create(send=send, subscriber=person, email=person.email, variant=variant,
                            status=Delivery.Status.SENT)
    subscriber_erase(person, actor="subscriber")
    delivery = Delivery.objects.get(send=send)
    assert (delivery.email, delivery.subscriber_id, delivery.status) == ("", None, "sent")
    assert not Delivery.objects.filter(email__icontains="aida").exists()


def test_erasure_removes_the_address_from_bounce_events_and_keeps_their_kind() -> None:
    from mailer.bounces.models import BounceEvent

    person = Subscriber.objects.create(email="aida@ngo.kz", email_hash=email_hash("aida@ngo.kz"))
    BounceEvent.objects.create(email_hash=person.email_hash, email=person.email, kind="hard",
                               status="5.1.1", diagnostic="550 5.1.1 <aida@ngo.kz>: no such user",
                               source="verp")
    subscriber_erase(person, actor="subscriber")
    event = BounceEvent.objects.get()
    assert (event.email, event.diagnostic, event.kind, event.status) == ("", "", "hard", "5.1.1")
    assert event.email_hash == email_hash("aida@ngo.kz")
    assert not BounceEvent.objects.filter(diagnostic__icontains="aida").exists()
