"""One path for every message that leaves: campaign mail, test sends and double opt-in
confirmations are built, DKIM-signed and delivered by the same code, with the same
outcome classes and Message-IDs of the mail domain."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailer.issues.models import Issue, IssueVariant
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer
from mailer.web.testsend import SUPPRESSED_REPLY, variant_test_send
from subscribers.mail import Sent, transactional_send
from subscribers.models import MailingList, Subscription, Suppression, TransactionalMail
from subscribers.services import is_suppressed, suppression_add
from subscribers.tasks import transactional_mail
from tests.sending.conftest import sink_read, subscriber_make

pytestmark = pytest.mark.django_db
DKIM_KEY = Path(__file__).resolve().parents[1] / "signing" / "test-dkim-private.pem"


@pytest.fixture
def signing(settings: Any) -> Iterator[None]:
    settings.DKIM_PRIVATE_KEY_PATH = str(DKIM_KEY)
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_DOMAIN = "news.example.org"
    dkim_key.cache_clear()
    yield
    dkim_key.cache_clear()


@pytest.fixture
def smtp_backend(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def unconfirmed(mlist: MailingList, address: str = "new@example.org") -> TransactionalMail:
    """A pending subscription and its confirmation mail, recorded but not sent yet."""
    sub = Subscription.objects.create(subscriber=subscriber_make(address),
                                      mailing_list=mlist, status="unconfirmed")
    return TransactionalMail.objects.create(kind="confirmation", subscriber=sub.subscriber,
                                            mailing_list=mlist, subscription=sub)


def received(server: SinkServer) -> list[email.message.Message]:
    paths = server.messages()
    return [email.message_from_bytes(sink_read(p)[2], policy=email.policy.default)
            for p in paths]


def test_a_confirmation_is_signed_and_has_a_message_id_of_the_mail_domain(
        lists: dict[str, MailingList], sink: SinkServer, smtp_backend: None,
        signing: None) -> None:
    mail = unconfirmed(lists["public"])
    assert transactional_send(mail.pk) == Sent.SENT
    messages = received(sink)
    assert len(messages) == 1
    assert str(messages[0]["Message-ID"]).endswith("@news.example.org>")
    assert "d=news.example.org" in str(messages[0]["DKIM-Signature"])


def test_a_confirmation_refused_for_good_is_not_retried_and_suppresses_the_address(
        lists: dict[str, MailingList], scripted_sink: Callable[..., SinkServer],
        smtp_backend: None) -> None:
    relay = scripted_sink(rcpt_replies={"gone@example.org": "550 5.1.1 no such user"})
    mail = unconfirmed(lists["public"], "gone@example.org")
    result = transactional_mail.apply(args=(mail.pk,))
    assert (result.state, result.result) == ("SUCCESS", False)  # no retry was asked
    assert relay.messages() == []
    assert is_suppressed("gone@example.org")


def test_a_deferred_confirmation_is_left_to_the_task_to_retry(
        lists: dict[str, MailingList], scripted_sink: Callable[..., SinkServer],
        smtp_backend: None) -> None:
    scripted_sink(data_replies=["451 4.7.1 try later"])
    mail = unconfirmed(lists["public"])
    assert transactional_send(mail.pk) == Sent.DEFERRED
    assert not Suppression.objects.exists()


def test_a_test_send_is_signed_like_campaign_mail(
        issue: Issue, sink: SinkServer, signing: None) -> None:
    variant = IssueVariant.objects.get(issue=issue, language="en")
    report = variant_test_send(variant, ["me@news.example.org"])
    assert report.accepted == ["me@news.example.org"]
    messages = received(sink)
    assert len(messages) == 1
    assert str(messages[0]["Subject"]).startswith("[TEST]")
    assert "d=news.example.org" in str(messages[0]["DKIM-Signature"])


def test_a_test_send_leaves_out_a_suppressed_address(
        issue: Issue, sink: SinkServer) -> None:
    suppression_add("bounced@example.org", Suppression.Reason.HARD_BOUNCE)
    variant = IssueVariant.objects.get(issue=issue, language="en")
    report = variant_test_send(variant, ["Bounced@example.org", "me@news.example.org"])
    assert report.refused == [("Bounced@example.org", SUPPRESSED_REPLY)]
    assert report.accepted == ["me@news.example.org"]
    assert [sink_read(p)[1] for p in sink.messages()] == ["me@news.example.org"]
