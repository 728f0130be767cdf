"""A bidi override in a name, or an address with template syntax, saved before the audience
refused them never reaches a To: header (issue 10): the sender cleans names again and
refuses such addresses."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailer.issues.models import Issue
from mailer.sending.models import SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sending.runner import delivery_send_range
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber, Subscription, email_hash

pytestmark = pytest.mark.django_db


def test_the_to_header_carries_no_bidi_override_or_control(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer) -> None:
    person = Subscriber.objects.create(email="eve@ngo.kz", email_hash=email_hash("eve@ngo.kz"),
                                       name="Eve \u202egnp.exe\u2066\x07")
    Subscription.objects.create(subscriber=person, mailing_list=lists["staff"], status="confirmed")
    send = send_create(issue, [lists["staff"]])
    send_start(send.pk)
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)
    (path,) = sink.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].display_name == "Eve gnp.exe"


def test_an_address_with_template_syntax_saved_earlier_is_never_sent(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer) -> None:
    from mailer.sending.models import Delivery

    risky = "{{7*7}}@example.org"
    person = Subscriber.objects.create(email=risky, email_hash=email_hash(risky))
    Subscription.objects.create(subscriber=person, mailing_list=lists["staff"], status="confirmed")
    send = send_create(issue, [lists["staff"]])
    send_start(send.pk)
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)
    assert sink.messages() == []
    delivery = Delivery.objects.get(send=send)
    assert delivery.status in ("bounced", "failed") and "template syntax" in delivery.smtp_reply
