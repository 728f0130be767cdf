"""STANDARDS.md rows 17, 18 and 19: the VERP return path of messages really sent, and
bounce / complaint reports about those messages acted on end to end: the address is
suppressed (or counted) and the next send skips it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mailer.bounces.processing import bounce_process
from mailer.issues.models import Issue
from mailer.sending.models import Delivery
from mailer.sending.verp import verp_address, verp_read
from subscribers.models import MailingList, Subscriber, Subscription, Suppression, email_hash
from tests.acceptance.conftest import (
    BOUNCE_DOMAIN,
    Sender,
    SendOutcome,
    audience_state,
    report_for,
)

VERP = re.compile(rf"bounces\+([0-9a-z]+)-([0-9a-f]+)@{re.escape(BOUNCE_DOMAIN)}")
BOTH = ("partners", "public")


def suppression_of(person: Subscriber) -> Suppression | None:
    return Suppression.objects.filter(email_hash=email_hash(person.email)).first()


def send_both(sender: Sender, issue: Issue, lists: dict[str, MailingList]) -> SendOutcome:
    return sender.send(issue, [lists[slug] for slug in BOTH])


# --- row 17: VERP -------------------------------------------------------------------------------

def test_row_17_the_envelope_sender_is_a_verp_address_naming_the_delivery(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        assert VERP.fullmatch(m.envelope_from), m.envelope_from
        delivery = sent.delivery(person)
        assert verp_read(m.envelope_from) == delivery.pk
        assert m.envelope_from == verp_address(delivery.pk)


def test_row_17_the_verp_address_survives_an_mta_that_folds_case_or_adds_brackets(
        sent: SendOutcome) -> None:
    for m in sent.messages:
        expected = verp_read(m.envelope_from)
        assert expected is not None
        assert verp_read(m.envelope_from.upper()) == expected
        assert verp_read(f"<{m.envelope_from}>") == expected


def test_row_17_a_forged_verp_address_is_not_read(sent: SendOutcome,
                                                  people: dict[str, Subscriber]) -> None:
    own = sent.to(people["aigerim"]).envelope_from
    other_id = sent.delivery(people["zhanna"]).pk
    match = VERP.fullmatch(own)
    assert match
    token, signature = match.groups()
    other_token = verp_address(other_id).split("+", 1)[1].split("-", 1)[0]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    forgeries = [
        f"bounces+{other_token}-{signature}@{BOUNCE_DOMAIN}",  # someone else's id, our signature
        f"bounces+{token}-{flipped}@{BOUNCE_DOMAIN}",          # a changed signature
        f"bounces+{token}@{BOUNCE_DOMAIN}",                    # no signature
        f"bounces+{token}-{signature}@elsewhere.example",      # another domain
    ]
    assert all(verp_read(address) is None for address in forgeries)


def test_row_17_a_bounce_with_a_forged_verp_address_changes_nothing(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """Someone who received one of our messages (aigerim) names another delivery
    (zhanna's) with aigerim's signature, and a Message-ID that is not ours."""
    victim = sent.to(people["zhanna"])
    own = VERP.fullmatch(sent.to(people["aigerim"]).envelope_from)
    target = VERP.fullmatch(victim.envelope_from)
    assert own and target
    forged = f"bounces+{target.group(1)}-{own.group(2)}@{BOUNCE_DOMAIN}"
    assert verp_read(forged) is None
    report = report_for("postfix-hard-5.1.1.eml", victim, verp=forged,
                        message_id="<forged.1@news.example.org>")
    before = audience_state()
    outcome = bounce_process(report, [forged])
    assert outcome.action == "ignored", outcome
    assert audience_state() == before


# --- row 18: DSN bounces ------------------------------------------------------------------------

def test_row_18_a_hard_dsn_for_a_sent_message_suppresses_it_and_the_next_send_skips_it(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["zhanna"]
    m = sent.to(person)
    outcome = bounce_process(report_for("postfix-hard-5.1.1.eml", m), [m.envelope_from])
    assert (outcome.action, outcome.kind, outcome.email) == ("suppressed", "hard", person.email)
    suppression = suppression_of(person)
    assert suppression is not None and suppression.reason == Suppression.Reason.HARD_BOUNCE
    assert sent.delivery(person).status == Delivery.Status.BOUNCED

    following = send_both(sender, next_issue(), lists)
    assert person.email not in following.by_email
    assert not Delivery.objects.filter(send=following.send, email=person.email).exists()
    assert set(following.by_email) == {p.email for p in people.values()} - {person.email}


def test_row_18_a_hard_dsn_identified_only_by_the_returned_headers_still_counts(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """A report forwarded to another address: no VERP envelope recipient, but the
    returned headers carry our signed Return-Path and Message-ID."""
    person = people["aigerim"]
    m = sent.to(person)
    outcome = bounce_process(report_for("postfix-hard-5.1.1.eml", m), [])
    assert (outcome.action, outcome.email) == ("suppressed", person.email)


def test_row_18_a_hard_dsn_after_planning_is_honoured_at_send_time(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["bakhyt"]
    send, batches = sender.plan(next_issue(), [lists[slug] for slug in BOTH])
    assert Delivery.objects.filter(send=send, email=person.email).exists()
    m = sent.to(person)
    assert bounce_process(report_for("postfix-hard-5.1.1.eml", m),
                          [m.envelope_from]).action == "suppressed"
    following = sender.run(send, batches)
    assert person.email not in following.by_email
    assert Delivery.objects.get(send=send, email=person.email).status == Delivery.Status.SKIPPED


def test_row_18_a_soft_dsn_is_counted_and_the_address_stays_in_the_next_send(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["oneil"]
    m = sent.to(person)
    outcome = bounce_process(report_for("postfix-delayed-4.4.1.eml", m), [m.envelope_from])
    assert (outcome.action, outcome.kind, outcome.email) == ("counted", "soft", person.email)
    assert suppression_of(person) is None
    assert sent.delivery(person).status == Delivery.Status.SENT
    assert person.email in send_both(sender, next_issue(), lists).by_email


def test_row_18_soft_bounces_from_n_sends_suppress_the_address(
        settings: Any, sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue],
        lists: dict[str, MailingList], people: dict[str, Subscriber]) -> None:
    settings.SOFT_BOUNCE_LIMIT = 3
    person = people["oneil"]
    outcomes = []
    current = sent
    for _ in range(settings.SOFT_BOUNCE_LIMIT):
        m = current.to(person)
        outcomes.append(bounce_process(report_for("postfix-delayed-4.4.1.eml", m),
                                       [m.envelope_from]).action)
        current = send_both(sender, next_issue(), lists)
    assert outcomes == ["counted", "counted", "suppressed"]
    suppression = suppression_of(person)
    assert suppression is not None and suppression.reason == Suppression.Reason.SOFT_BOUNCE
    assert person.email not in current.by_email


# --- row 19: ARF complaints -----------------------------------------------------------------------

def test_row_19_a_complaint_about_a_sent_message_unsubscribes_and_suppresses(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["bakhyt"]  # on both lists: a complaint ends every subscription
    m = sent.to(person)
    outcome = bounce_process(report_for("arf-complaint.eml", m), [m.envelope_from])
    assert (outcome.action, outcome.kind, outcome.email) == ("suppressed", "complaint",
                                                             person.email)
    suppression = suppression_of(person)
    assert suppression is not None and suppression.reason == Suppression.Reason.COMPLAINT
    assert set(Subscription.objects.filter(subscriber=person).values_list("status", flat=True)) == {
        Subscription.Status.UNSUBSCRIBED}

    following = send_both(sender, next_issue(), lists)
    assert person.email not in following.by_email
    assert not Delivery.objects.filter(send=following.send, email=person.email).exists()


def test_row_19_a_complaint_sent_to_the_abuse_address_is_matched_by_message_id(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """Feedback loops mail abuse@, not the VERP address: the signed Message-ID of the
    returned message is what proves the report is about our delivery."""
    person = people["zhanna"]
    m = sent.to(person)
    outcome = bounce_process(report_for("arf-complaint.eml", m), ["abuse@news.example.org"])
    assert (outcome.action, outcome.kind, outcome.email) == ("suppressed", "complaint",
                                                             person.email)


def test_row_19_a_complaint_with_a_forged_message_id_changes_nothing(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    person = people["zhanna"]
    m = sent.to(person)
    real = str(m.message["Message-ID"])
    forged = re.sub(r"\.([0-9a-f]+)@", lambda x: "." + "0" * len(x.group(1)) + "@", real)
    assert forged != real
    report = report_for("arf-complaint.eml", m, verp="bounces@news.example.org",
                        message_id=forged)
    before = audience_state()
    assert bounce_process(report, ["abuse@news.example.org"]).action == "ignored"
    assert audience_state() == before
