"""Bounces and complaints (STANDARDS rows 17–19): real report formats in, suppressions out —
and nothing changes for a report that cannot prove which of our deliveries it is about."""

from __future__ import annotations

import pytest
from bounce_fixtures import RCPT, fixture

from mailer.bounces.models import BounceEvent
from mailer.bounces.parsing import report_parse
from mailer.bounces.processing import bounce_process
from mailer.sending.models import Delivery, Send
from mailer.sending.verp import verp_address
from subscribers.models import Subscription, Suppression, email_hash


def suppressed(reason: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(RCPT), reason=reason).exists()


@pytest.mark.parametrize(("name", "kind", "status"), [
    ("postfix-hard-5.1.1.eml", "hard", "5.1.1"),
    ("postfix-delayed-4.4.1.eml", "soft", "4.4.1"),
    ("gmail-style-mailbox-full-5.2.2.eml", "hard", "5.2.2"),
    ("arf-complaint.eml", "complaint", ""),
])
def test_it_reads_standard_reports_to_address_and_kind(name: str, kind: str, status: str) -> None:
    report = report_parse(fixture(name, verp="bounces+1-000000000000@news.example.org"))
    [failure] = report.failures
    assert (failure.address, failure.kind, failure.status) == (RCPT, kind, status)


def test_it_reads_a_non_standard_exim_bounce_as_hard() -> None:
    report = report_parse(fixture("exim-plain-text-bounce.eml"))
    assert [(f.address, f.kind) for f in report.failures] == [(RCPT, "hard")]


def test_it_finds_the_returned_original_message_id() -> None:
    report = report_parse(fixture("postfix-hard-5.1.1.eml", msgid="<1.2.abc@news.example.org>"))
    assert report.original_message_id == "<1.2.abc@news.example.org>"


def test_a_hard_bounce_to_our_verp_address_suppresses_the_recipient(delivery: Delivery) -> None:
    outcome = bounce_process(fixture("postfix-hard-5.1.1.eml", delivery), [verp_address(delivery.pk)])
    assert (outcome.action, outcome.kind) == ("suppressed", "hard")
    assert suppressed("hard_bounce")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.BOUNCED


def test_a_soft_bounce_is_counted_not_suppressed(delivery: Delivery) -> None:
    outcome = bounce_process(fixture("postfix-delayed-4.4.1.eml", delivery), [verp_address(delivery.pk)])
    assert outcome.action == "counted"
    assert not Suppression.objects.exists()
    assert BounceEvent.objects.filter(kind="soft").count() == 1


def test_soft_bounces_of_several_messages_suppress_after_the_limit(delivery: Delivery, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SOFT_BOUNCE_LIMIT = 3
    outcomes = []
    for n in range(3):
        if n:  # the same person, a later issue
            delivery.pk = None
            delivery.send = Send.objects.create(issue=delivery.send.issue, status=Send.Status.DONE)
            delivery.save()
        raw = fixture("postfix-delayed-4.4.1.eml", delivery)
        outcomes.append(bounce_process(raw, [verp_address(delivery.pk)]).action)
    assert outcomes == ["counted", "counted", "suppressed"]
    assert suppressed("soft_bounce")


def test_repeated_delay_warnings_about_one_message_count_once(delivery: Delivery, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SOFT_BOUNCE_LIMIT = 2
    raw = fixture("postfix-delayed-4.4.1.eml", delivery)
    outcomes = [bounce_process(raw, [verp_address(delivery.pk)]).action for _ in range(3)]
    assert outcomes == ["counted", "ignored", "ignored"]
    assert not Suppression.objects.exists()


def test_a_complaint_unsubscribes_from_every_list_and_suppresses(delivery: Delivery) -> None:
    outcome = bounce_process(fixture("arf-complaint.eml", delivery), ["abuse@news.example.org"])
    assert (outcome.action, outcome.kind) == ("suppressed", "complaint")
    assert suppressed("complaint")
    assert set(Subscription.objects.values_list("status", flat=True)) == {"unsubscribed"}


def test_a_bounce_without_verp_is_proven_by_our_signed_message_id(delivery: Delivery) -> None:
    raw = fixture("exim-plain-text-bounce.eml", delivery, verp="bounces@news.example.org")
    outcome = bounce_process(raw, ["bounces@news.example.org"])
    assert outcome.action == "suppressed"


def test_a_forged_verp_signature_changes_nothing(delivery: Delivery) -> None:
    real = verp_address(delivery.pk)[:-len("@news.example.org")]
    # Change the signature's last character (to one it is not: a forgery, never the original).
    forged = real[:-1] + ("1" if real.endswith("0") else "0") + "@news.example.org"
    raw = fixture("postfix-hard-5.1.1.eml", delivery, verp=forged, msgid="<1.1.0@news.example.org>")
    outcome = bounce_process(raw, [forged])
    assert outcome.action == "ignored"
    assert not Suppression.objects.exists() and not BounceEvent.objects.exists()


def test_a_report_naming_someone_without_our_ids_changes_nothing(delivery: Delivery) -> None:
    raw = fixture("postfix-hard-5.1.1.eml", None, verp="bounces@news.example.org")
    assert bounce_process(raw, ["bounces@news.example.org"]).action == "ignored"
    assert not Suppression.objects.exists()


def test_an_auto_reply_to_the_return_path_is_ignored(delivery: Delivery) -> None:
    outcome = bounce_process(fixture("vacation-auto-reply.eml", delivery), [verp_address(delivery.pk)])
    assert outcome.action == "ignored"
    assert not BounceEvent.objects.exists()
