"""STANDARDS.md rows 1, 2, 5, 8, 9, 10, 11, 13 and 16: the header block of every message
that the real send pipeline delivered to the SMTP sink."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import dkim

from mailer.issues.models import Issue
from mailer.sending.compose import MessageFactory
from mailer.sending.mime import message_id_for
from mailer.sending.models import Delivery
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from subscribers.tokens import unsubscribe_token_read
from tests.acceptance.conftest import (
    DKIM_DIR,
    FROM_ADDRESS,
    MAIL_DOMAIN,
    SENDER_ID,
    SITE,
    Received,
    Sender,
    SendOutcome,
    received_load,
)

LIST_UNSUBSCRIBE = re.compile(r"<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*")
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def raw_header(received: Received, name: str) -> str:
    """The header's value exactly as sent (folding removed), without any decoding."""
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", received.head).decode("ascii")
    values = [line.split(":", 1)[1].strip() for line in unfolded.split("\r\n")
              if line.lower().startswith(name.lower() + ":")]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def one(received: Received, name: str) -> str:
    values = received.message.get_all(name) or []
    assert len(values) == 1, f"{received.envelope_to}: {name} appears {len(values)} times"
    return str(values[0])


def rfc2047_decode(value: str) -> str:
    """RFC 2047 §6.2 decoding: whitespace between adjacent encoded words is dropped."""
    return str(make_header(decode_header(value)))


# --- row 1: List-Unsubscribe ----------------------------------------------------------------

def test_row_1_list_unsubscribe_is_one_header_of_bracketed_uris_with_one_https(
        sent: SendOutcome) -> None:
    for m in sent.messages:
        value = one(m, "List-Unsubscribe")
        assert LIST_UNSUBSCRIBE.fullmatch(value), f"{m.envelope_to}: {value!r}"
        uris = re.findall(r"<([^<>\s]+)>", value)
        assert sum(u.startswith("https://") for u in uris) == 1, value
        assert all(u.startswith(("https://", "mailto:")) for u in uris), value


def test_row_1_the_https_uri_is_our_one_click_endpoint_for_this_recipient_and_list(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        url = re.findall(r"<(https://[^<>\s]+)>", one(m, "List-Unsubscribe"))[0]
        match = re.fullmatch(re.escape(SITE) + r"/u/([^/]+)/", url)
        assert match, url
        subscriber_id, list_id = unsubscribe_token_read(match.group(1))
        assert subscriber_id == person.pk
        assert list_id == sent.delivery(person).mailing_list_id


# --- row 2: List-Unsubscribe-Post -----------------------------------------------------------

def test_row_2_list_unsubscribe_post_is_exactly_one_click(sent: SendOutcome) -> None:
    for m in sent.messages:
        assert one(m, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert raw_header(m, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"


# --- row 5: DKIM ----------------------------------------------------------------------------

def dkim_dns(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"news._domainkey.news.example.org.", name
    return b"v=DKIM1; k=rsa; p=" + (DKIM_DIR / "test-dkim-public.b64").read_bytes().strip()


def dkim_tags(received: Received) -> dict[str, str]:
    value = re.sub(r"\s+", "", raw_header(received, "DKIM-Signature"))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_row_5_sent_messages_are_dkim_signed_over_the_one_click_headers_and_verify(
        settings: Any, sender: Sender, issue: Issue, lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    settings.DKIM_PRIVATE_KEY_PATH = str(DKIM_DIR / "test-dkim-private.pem")
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_DOMAIN = MAIL_DOMAIN
    dkim_key.cache_clear()
    outcome = sender.send(issue, [lists["partners"], lists["public"]])
    assert len(outcome.messages) == len(people)
    for m in outcome.messages:
        tags = dkim_tags(m)
        assert tags["d"] == MAIL_DOMAIN and tags["s"] == "news"
        signed = {h.lower() for h in tags["h"].split(":")}
        assert {"from", "subject", "date", "message-id", "list-unsubscribe",
                "list-unsubscribe-post", "feedback-id"} <= signed, tags["h"]
        assert dkim.verify(m.raw, dnsfunc=dkim_dns), m.envelope_to


# --- row 8: Feedback-ID ---------------------------------------------------------------------

def test_row_8_feedback_id_has_2_to_4_fields_ending_in_our_sender_id(sent: SendOutcome) -> None:
    for m in sent.messages:
        fields = one(m, "Feedback-ID").split(":")
        assert 2 <= len(fields) <= 4, fields
        assert 5 <= len(fields[-1]) <= 15 and fields[-1] == SENDER_ID, fields
        assert all(fields), fields


def test_row_8_feedback_id_carries_nothing_per_recipient(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    by_list: dict[int | None, set[str]] = {}
    for person in people.values():
        list_id = sent.delivery(person).mailing_list_id
        by_list.setdefault(list_id, set()).add(one(sent.to(person), "Feedback-ID"))
    # Everyone mailed through the same list of the same send carries the same value.
    assert all(len(values) == 1 for values in by_list.values()), by_list
    for m in sent.messages:
        value = one(m, "Feedback-ID").lower()
        assert m.envelope_to.lower() not in value
        assert m.envelope_to.split("@")[0].lower() not in value


def test_row_8_the_sender_id_is_stable_across_sends(
        sender: Sender, sent: SendOutcome, next_issue: Callable[[], Issue], lists: dict[str, MailingList]) -> None:
    again = sender.send(next_issue(), [lists["public"]])
    ids = {one(m, "Feedback-ID").split(":")[-1] for m in [*sent.messages, *again.messages]}
    assert ids == {SENDER_ID}


# --- row 9: From ----------------------------------------------------------------------------

def test_row_9_from_is_one_address_with_the_variants_honest_name(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        assert len(getaddresses([raw_header(m, "From")])) == 1
        addresses = m.message["From"].addresses
        assert len(addresses) == 1
        assert addresses[0].addr_spec == FROM_ADDRESS
        variant = sent.delivery(person).variant
        assert rfc2047_decode(raw_header(m, "From").rsplit("<", 1)[0].strip()) == variant.from_name
        assert m.message.get_all("Sender") is None


# --- row 10: Message-ID ---------------------------------------------------------------------

def test_row_10_message_id_is_present_once_with_our_domain_on_the_right(
        sent: SendOutcome) -> None:
    for m in sent.messages:
        value = one(m, "Message-ID")
        match = re.fullmatch(r"<([^<>@\s]+)@([^<>@\s]+)>", value)
        assert match, value
        assert match.group(2) == MAIL_DOMAIN


def test_row_10_message_id_is_unique_per_recipient_and_recorded_on_the_delivery(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    ids = [one(m, "Message-ID") for m in sent.messages]
    assert len(set(ids)) == len(ids)
    for person in people.values():
        delivery = sent.delivery(person)
        assert one(sent.to(person), "Message-ID") == delivery.message_id
        assert delivery.message_id == message_id_for(sent.send.pk, person.pk)


def test_row_10_message_id_is_deterministic_per_send_and_subscriber(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    # The same (send, subscriber) built again by the send's own factory: the same id.
    factory = MessageFactory(sent.send)
    for person in people.values():
        d = sent.delivery(person)
        rcpt = factory.recipient(d.pk + 1000, person.pk, d.email, "Someone Else", "",
                                 d.mailing_list_id)
        rebuilt = factory.build(d.variant_id, rcpt)
        assert rebuilt.message_id == one(sent.to(person), "Message-ID")
    # Another send to the same person: another id.
    again = sender.send(next_issue(), [lists["public"]])
    for email_addr, m in again.by_email.items():
        assert one(m, "Message-ID") != one(sent.by_email[email_addr], "Message-ID")


def test_row_10_a_message_sent_again_after_a_temporary_failure_keeps_its_message_id(
        settings: Any, flaky_sink: Callable[[set[str]], SinkServer], eager_celery: None,
        django_capture_on_commit_callbacks: Any, issue: Issue, lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    """The relay got the first copy but answered 451; the retry is the same message."""
    settings.SEND_RETRY_BASE_SECONDS = 0.0  # retry at once, no waiting in the test
    person = people["zhanna"]
    server = flaky_sink({person.email})
    send, batches = Sender(server, django_capture_on_commit_callbacks).plan(
        issue, [lists["partners"], lists["public"]])
    for publish in batches:
        publish()
    copies = [r for r in map(received_load, server.messages()) if r.envelope_to == person.email]
    assert len(copies) == 2, "the refused attempt and the retry"
    assert one(copies[0], "Message-ID") == one(copies[1], "Message-ID")
    delivery = Delivery.objects.get(send=send, subscriber=person)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    assert delivery.message_id == one(copies[1], "Message-ID")


# --- row 11: Date ---------------------------------------------------------------------------

def test_row_11_date_is_present_once_with_a_zone(sent: SendOutcome) -> None:
    for m in sent.messages:
        when = parsedate_to_datetime(one(m, "Date"))
        assert when.tzinfo is not None, one(m, "Date")
        assert not raw_header(m, "Date").endswith("-0000"), "-0000 means 'zone unknown'"


# --- row 13: RFC 2047 in headers ------------------------------------------------------------

def test_row_13_the_raw_header_block_is_ascii(sent: SendOutcome) -> None:
    for m in sent.messages:
        m.head.decode("ascii")  # raises on any 8-bit byte
        assert all(len(w) <= 75 for w in ENCODED_WORD.findall(m.head)), m.envelope_to


def test_row_13_cyrillic_subjects_round_trip(sent: SendOutcome,
                                             people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        variant = sent.delivery(person).variant
        assert one(m, "Subject") == variant.subject
        assert rfc2047_decode(raw_header(m, "Subject")) == variant.subject
    russian = sent.to(people["zhanna"])
    assert "=?utf-8?" in raw_header(russian, "Subject").lower()
    assert one(russian, "Subject").startswith("МОМ в Центральной Азии")


def test_row_13_cyrillic_display_names_round_trip_by_rfc_2047(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """Decoded as RFC 2047 §6.2 says: whitespace between adjacent encoded words is dropped."""
    for person in people.values():
        m = sent.to(person)
        to = raw_header(m, "To")
        assert to.endswith(f"<{person.email}>") or to == person.email
        phrase = to.rsplit("<", 1)[0].strip() if "<" in to else ""
        decoded = rfc2047_decode(phrase) if phrase else ""
        if decoded.startswith('"') and decoded.endswith('"'):
            decoded = decoded[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        assert decoded == person.name, (to, decoded)
    assert "=?utf-8?" in raw_header(sent.to(people["bakhyt"]), "To").lower()


def test_row_13_display_names_parsed_with_the_default_policy_keep_every_word_whole(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    """STANDARDS.md parses with ``email.policy.default``, whose address parser keeps the
    folding whitespace between adjacent encoded words. Runs of whitespace are compared
    as one space: a word split in two is the failure, a doubled space is not."""
    for person in people.values():
        m = sent.to(person)
        addresses = m.message["To"].addresses
        assert len(addresses) == 1 and addresses[0].addr_spec == person.email
        assert " ".join(addresses[0].display_name.split()) == " ".join(person.name.split()), (
            m.envelope_to, addresses[0].display_name)


# --- row 16: List-Id ------------------------------------------------------------------------

def test_row_16_list_id_names_the_list_the_recipient_was_mailed_through(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        list_id = sent.delivery(person).mailing_list_id
        assert list_id is not None
        slug = MailingList.objects.get(pk=list_id).slug
        assert one(sent.to(person), "List-Id") == f"<{slug}.{MAIL_DOMAIN}>"
