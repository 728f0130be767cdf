"""The inbound bounce server over real SMTP on 127.0.0.1."""

from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.controller import Controller
from bounce_fixtures import fixture

from mailer.bounces.server import BounceHandler
from mailer.sending.models import Delivery
from mailer.sending.verp import unsubscribe_address, verp_address
from mailer.sink.server import free_port
from subscribers.models import Subscription, Suppression


@pytest.fixture
def bounce_server() -> Controller:
    controller = Controller(BounceHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_it_suppresses_on_a_hard_bounce_received_over_smtp(bounce_server: Controller,
                                                           delivery: Delivery) -> None:
    verp = verp_address(delivery.pk)
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port) as smtp:
        smtp.sendmail("", [verp], fixture("postfix-hard-5.1.1.eml", delivery))
    assert Suppression.objects.filter(reason="hard_bounce").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_refuses_mail_for_other_mailboxes(bounce_server: Controller) -> None:
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port) as smtp:
        smtp.ehlo()
        smtp.mail("someone@example.com")
        code, _ = smtp.rcpt("postmaster@news.example.org")
    assert code == 550


UNSUBSCRIBE_MAIL = (b"From: Aigerim <aigerim@ngo.kz>\r\nTo: unsubscribe\r\nSubject: unsubscribe\r\n"
                    b"\r\nPlease take me off the list.\r\n")


@pytest.mark.django_db(transaction=True)
def test_a_mail_to_the_list_unsubscribe_mailto_unsubscribes_over_smtp(
        bounce_server: Controller, delivery: Delivery) -> None:
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port) as smtp:
        smtp.sendmail("aigerim@ngo.kz", [unsubscribe_address(delivery.pk)], UNSUBSCRIBE_MAIL)
    subscription = Subscription.objects.get(subscriber=delivery.subscriber)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.subscriber.events.filter(actor="subscriber:mailto").exists()
    assert not Suppression.objects.exists()  # leaving a list is not a bounce


@pytest.mark.django_db(transaction=True)
def test_a_mail_to_a_forged_unsubscribe_address_changes_nothing(
        bounce_server: Controller, delivery: Delivery) -> None:
    genuine = unsubscribe_address(delivery.pk)
    forged = [genuine.replace(f"-{genuine.split('-')[1].split('@')[0]}@", "-000000000000@"),
              verp_address(delivery.pk).replace("bounces+", "unsubscribe+")]
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port) as smtp:
        for address in forged:
            smtp.sendmail("mallory@example.com", [address], UNSUBSCRIBE_MAIL)
    subscription = Subscription.objects.get(subscriber=delivery.subscriber)
    assert subscription.status == Subscription.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("data", [b"", b"Subject: no sender, no body\r\n", b"From: \r\n\r\n"])
def test_it_answers_a_body_less_or_sender_less_message_with_a_proper_reply(
        bounce_server: Controller, data: bytes) -> None:
    with smtplib.SMTP(bounce_server.hostname, bounce_server.port) as smtp:
        smtp.ehlo()
        smtp.mail("")
        assert smtp.rcpt(verp_address(12345))[0] == 250
        code, reply = smtp.data(data)
    assert code == 250, reply
    assert not Suppression.objects.exists()
