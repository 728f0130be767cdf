"""STANDARDS.md rows 3, 4, 6 and 7: the one-click unsubscribe URL of a message that was
really sent, driven with Django's test client exactly as a mail provider would call it
(a cookie-less POST, no CSRF token: the client enforces CSRF checks to prove none is needed)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.http.response import HttpResponseBase
from django.test import Client

from mailer.bounces.processing import inbound_process
from mailer.issues.models import Issue
from mailer.sending.models import Delivery
from mailer.sending.verp import unsubscribe_address_read
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.tokens import preferences_token, preferences_token_read, unsubscribe_token
from tests.acceptance.conftest import (
    SITE,
    HtmlDocument,
    Received,
    Sender,
    SendOutcome,
    audience_state,
    subscription_status,
    url_path,
)

UNSUBSCRIBED = Subscription.Status.UNSUBSCRIBED
CONFIRMED = Subscription.Status.CONFIRMED


def header_url(m: Received) -> str:
    urls = re.findall(r"<(https://[^<>\s]+)>", str(m.message["List-Unsubscribe"]))
    assert len(urls) == 1
    return urls[0]


def provider() -> Client:
    """A mail provider's POST: no cookies, no session, CSRF checks enforced."""
    client = Client(enforce_csrf_checks=True)
    assert not client.cookies
    return client


def one_click(url: str, *, multipart: bool = False) -> HttpResponseBase:
    client = provider()
    if multipart:  # the test client's default encoding is multipart/form-data
        return client.post(url_path(url), {"List-Unsubscribe": "One-Click"}, secure=True)
    return client.post(url_path(url), "List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded", secure=True)


def assert_answered_without_redirect(response: HttpResponseBase) -> None:
    assert response.status_code in (200, 202), response.status_code
    assert not response.has_header("Location")


def mailed_list(sent: SendOutcome, person: Subscriber) -> MailingList:
    list_id = sent.delivery(person).mailing_list_id
    assert list_id is not None
    return MailingList.objects.get(pk=list_id)


# --- row 3: one-click POST, GET, repeat -------------------------------------------------------

@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_row_3_a_cookieless_one_click_post_unsubscribes_without_redirect(
        sent: SendOutcome, people: dict[str, Subscriber], multipart: bool) -> None:
    person = people["aigerim"]
    mlist = mailed_list(sent, person)
    assert subscription_status(person, mlist) == CONFIRMED
    response = one_click(header_url(sent.to(person)), multipart=multipart)
    assert_answered_without_redirect(response)
    assert subscription_status(person, mlist) == UNSUBSCRIBED


def test_row_3_a_get_of_the_one_click_url_changes_nothing(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    before = audience_state()
    for m in sent.messages:  # a link scanner prefetching every message's URL
        response = provider().get(url_path(header_url(m)), secure=True)
        assert response.status_code == 200
        response = provider().get(url_path(header_url(m)), {"List-Unsubscribe": "One-Click"},
                                  secure=True)
        assert response.status_code == 200
    assert audience_state() == before


def test_row_3_a_client_that_trims_the_trailing_slash_is_not_redirected(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    person = people["aigerim"]
    url = header_url(sent.to(person))
    assert url.endswith("/")
    assert_answered_without_redirect(one_click(url.rstrip("/")))
    assert subscription_status(person, mailed_list(sent, person)) == UNSUBSCRIBED


def test_row_3_repeating_the_post_is_harmless(sent: SendOutcome,
                                              people: dict[str, Subscriber]) -> None:
    person = people["zhanna"]
    url = header_url(sent.to(person))
    assert_answered_without_redirect(one_click(url))
    after_first = audience_state()
    for multipart in (False, True, False):
        assert_answered_without_redirect(one_click(url, multipart=multipart))
    assert audience_state() == after_first
    assert subscription_status(person, mailed_list(sent, person)) == UNSUBSCRIBED


def test_row_3_the_post_leaves_everyone_else_as_they_were(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    person = people["oneil"]
    others = Subscription.objects.exclude(subscriber=person)
    before = sorted(others.values_list("pk", "status"))
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    assert sorted(others.values_list("pk", "status")) == before


# --- row 4: the token -------------------------------------------------------------------------

def _flip_signature_char(token: str) -> str:
    head, sig = token.rsplit(":", 1)
    return f"{head}:{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"


def _other_payload_same_signature(token: str, other: str) -> str:
    """Person A's signature on person B's payload (and timestamp)."""
    return other.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]


TAMPERINGS = {
    "signature-changed": lambda own, other, pk: _flip_signature_char(own),
    "payload-of-another-person": lambda own, other, pk: _other_payload_same_signature(own, other),
    "truncated": lambda own, other, pk: own[:-6],
    "preferences-token": lambda own, other, pk: preferences_token(pk),
    "unsigned": lambda own, other, pk: own.rsplit(":", 1)[0],
}


@pytest.mark.parametrize("tamper", sorted(TAMPERINGS))
def test_row_4_a_tampered_token_is_refused_and_changes_nothing(
        sent: SendOutcome, people: dict[str, Subscriber], tamper: str) -> None:
    own_url = header_url(sent.to(people["aigerim"]))
    other_url = header_url(sent.to(people["zhanna"]))
    own = re.fullmatch(re.escape(SITE) + r"/u/([^/]+)/", own_url).group(1)  # type: ignore[union-attr]
    other = re.fullmatch(re.escape(SITE) + r"/u/([^/]+)/", other_url).group(1)  # type: ignore[union-attr]
    forged = TAMPERINGS[tamper](own, other, people["aigerim"].pk)
    assert forged not in (own, other)
    before = audience_state()
    for multipart in (False, True):
        response = one_click(f"{SITE}/u/{forged}/", multipart=multipart)
        assert response.status_code in (400, 404), response.status_code
    assert provider().get(f"/u/{forged}/", secure=True).status_code in (400, 404)
    assert audience_state() == before


def test_row_4_a_token_names_one_person_and_list_and_cannot_act_for_another(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    tokens = {re.search(r"/u/([^/]+)/", header_url(m)).group(1)  # type: ignore[union-attr]
              for m in sent.messages}
    assert len(tokens) == len(sent.messages)  # one token per recipient
    assert all(len(t) >= 40 for t in tokens)  # carries an HMAC, not a guessable id
    person, bystander = people["aigerim"], people["zhanna"]
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    assert set(Subscription.objects.filter(subscriber=bystander).values_list("status", flat=True)) == {
        CONFIRMED}


# --- row 6: unsubscribes are honoured at once -----------------------------------------------------

def test_row_6_after_a_one_click_the_next_send_does_not_include_the_address(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["aigerim"]
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    send, batches = sender.plan(next_issue(), [lists["partners"], lists["public"]])
    assert not Delivery.objects.filter(send=send, email=person.email).exists()
    outcome = sender.run(send, batches)
    assert person.email not in outcome.by_email
    assert len(outcome.messages) == len(people) - 1


def test_row_6_an_unsubscribe_after_planning_is_honoured_at_send_time(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["zhanna"]
    send, batches = sender.plan(next_issue(), [lists["partners"], lists["public"]])
    assert Delivery.objects.filter(send=send, email=person.email).exists()
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    outcome = sender.run(send, batches)
    assert person.email not in outcome.by_email
    assert Delivery.objects.get(send=send, email=person.email).status == Delivery.Status.SKIPPED


def test_row_6_a_person_on_two_lists_who_unsubscribes_is_not_in_the_next_send_to_them(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["bakhyt"]
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    send, _ = sender.plan(next_issue(), [lists["partners"], lists["public"]])
    assert not Delivery.objects.filter(send=send, email=person.email).exists()


def header_mailto(m: Received) -> str:
    found = re.findall(r"<mailto:([^<>\s?]+)\?subject=unsubscribe>", str(m.message["List-Unsubscribe"]))
    assert len(found) == 1
    return found[0]


def test_row_1_the_mailto_uri_is_a_signed_address_naming_this_delivery(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        assert unsubscribe_address_read(header_mailto(sent.to(person))) == sent.delivery(person).pk


def test_row_6_a_mail_to_the_mailto_leaves_every_list_of_that_send_and_the_next_send(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue],
        lists: dict[str, MailingList], people: dict[str, Subscriber]) -> None:
    person = people["bakhyt"]  # on both lists
    raw = b"Subject: unsubscribe\r\n\r\nunsubscribe\r\n"
    outcome = inbound_process(raw, [header_mailto(sent.to(person))])
    assert (outcome.action, outcome.email) == ("unsubscribed", person.email)
    assert set(Subscription.objects.filter(subscriber=person).values_list("status", flat=True)) == {
        UNSUBSCRIBED}
    send, _ = sender.plan(next_issue(), [lists["partners"], lists["public"]])
    assert not Delivery.objects.filter(send=send, email=person.email).exists()


def test_row_6_no_message_names_a_list_the_person_left_after_planning(
        sent: SendOutcome, sender: Sender, next_issue: Callable[[], Issue], lists: dict[str, MailingList],
        people: dict[str, Subscriber]) -> None:
    person = people["bakhyt"]
    left = mailed_list(sent, person)
    send, batches = sender.plan(next_issue(), [lists["partners"], lists["public"]])
    assert_answered_without_redirect(one_click(header_url(sent.to(person))))
    assert subscription_status(person, left) == UNSUBSCRIBED
    outcome = sender.run(send, batches)
    m = outcome.by_email.get(person.email)
    assert m is None or str(m.message["List-Id"]) != f"<{left.slug}.news.example.org>", (
        "mailed through the list they had just left")


# --- row 7: a visible unsubscribe / preferences link in both parts -----------------------------

def preferences_urls(text: str, person: Subscriber) -> set[str]:
    """The preferences URLs in ``text`` whose signed token names ``person`` (the token
    carries a timestamp, so it is read back rather than compared)."""
    found = set()
    for url, token in re.findall(rf"({re.escape(SITE)}/p/([A-Za-z0-9_:-]+)/)", text):
        if preferences_token_read(token) == person.pk:
            found.add(url)
    return found


def test_row_7_both_parts_carry_the_unsubscribe_and_preferences_links(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        m = sent.to(person)
        visible = {a.get("href") or "" for a in HtmlDocument(m.html).all("a")
                   if not a.hidden and a.text.strip()}
        assert header_url(m) in visible, m.envelope_to
        assert header_url(m) in m.text, m.envelope_to
        assert preferences_urls(" ".join(visible), person), m.envelope_to
        assert preferences_urls(m.text, person), m.envelope_to


def test_row_7_the_links_in_the_body_open_pages_for_that_person_and_change_nothing(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    before = audience_state()
    for person in people.values():
        m = sent.to(person)
        hrefs = [a.get("href") or "" for a in HtmlDocument(m.html).all("a")]
        mine = [h for h in hrefs if h.startswith((f"{SITE}/u/", f"{SITE}/p/"))]
        assert mine, m.envelope_to
        for href in mine:
            assert provider().get(url_path(href), secure=True).status_code == 200, href
            if "/p/" in href:
                token = re.search(r"/p/([^/]+)/", href).group(1)  # type: ignore[union-attr]
                assert preferences_token_read(token) == person.pk
    assert audience_state() == before


def test_row_4_a_token_made_for_one_list_leaves_only_that_list(
        sent: SendOutcome, people: dict[str, Subscriber], lists: dict[str, MailingList]) -> None:
    """The token names the list: leaving "public" keeps "partners"."""
    person = people["bakhyt"]
    token = unsubscribe_token(person.pk, lists["public"].pk)
    assert_answered_without_redirect(one_click(f"{SITE}/u/{token}/"))
    assert subscription_status(person, lists["public"]) == UNSUBSCRIBED
    assert subscription_status(person, lists["partners"]) == CONFIRMED
