"""The inbound bounce server over real SMTP on 127.0.0.1."""

from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.controller import Controller
from bounce_fixtures import fixture

from mailer.bounces.server import BounceHandler
from mailer.sending.models import Delivery
from mailer.sending.verp import verp_address
from mailer.sink.server import free_port
from subscribers.models import Suppression


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
