"""The send wizard tells apart people who already received the issue from people the
segment or the excluded lists leave out, and its count is what planning freezes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_plan
from mailer.sending.state import send_transition
from mailer.web.wizard import audience_summary
from subscribers.models import MailingList, Segment, Subscriber
from tests.web.test_web_sends import wizard

pytestmark = pytest.mark.django_db


def earlier_send_reached(issue: Issue, lists: list[MailingList], people: list[Subscriber]) -> Send:
    """A finished send of ``issue`` whose rows for ``people`` were sent (the others skipped)."""
    send = send_create(issue, lists)
    assert send_transition(send.pk, Send.Status.PLANNING)
    send_plan(send)
    assert send_transition(send.pk, Send.Status.SENDING)
    rows = Delivery.objects.filter(send=send)
    rows.filter(subscriber__in=people).update(status=Delivery.Status.SENT)
    rows.exclude(subscriber__in=people).update(status=Delivery.Status.SKIPPED)
    assert send_transition(send.pk, Send.Status.DONE)
    return send


def confirm_page(client: Client, send: Send) -> str:
    return client.get(reverse("web:send-confirm", args=[send.pk])).content.decode()


def test_people_who_already_received_the_issue_are_counted_on_their_own_line(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    earlier_send_reached(issue, [lists["partners"]], [audience["ana"], audience["bek"]])
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    page = confirm_page(comms_client, send)
    # ana, bek, cy, eve are confirmed; cy is suppressed; ana and bek had the issue: eve remains.
    assert '<strong id="recipient-count">1</strong>' in page
    assert "2 people already received this issue — they will not get it twice." in page
    assert '<td class="num" id="already-received">2</td>' in page
    assert '<td class="num" id="filtered-out">0</td>' in page


def test_the_wizard_count_is_what_planning_freezes(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    earlier_send_reached(issue, [lists["partners"]], [audience["ana"]])
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]],
                  excluded_lists=[lists["staff"].pk])
    summary = audience_summary(send)
    # bek remains; ana had it, cy suppressed, eve on the excluded staff list.
    assert (summary.people, summary.suppressed, summary.already_received,
            summary.filtered_out, summary.recipients) == (4, 1, 1, 1, 1)
    assert send_transition(send.pk, Send.Status.PLANNING)
    assert send_plan(send).planned == summary.recipients


def test_it_does_not_advise_a_wider_segment_when_everyone_already_received_the_issue(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    earlier_send_reached(issue, [lists["partners"], lists["news"]],
                         [audience["ana"], audience["bek"], audience["eve"]])
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    page = confirm_page(comms_client, send)
    assert '<strong id="recipient-count">0</strong>' in page
    assert "3 people already received this issue" in page
    assert "wider segment" not in page
    assert "Everyone it could reach already received this issue" in page


def test_it_advises_a_wider_segment_when_the_segment_leaves_people_out(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    segment = Segment.objects.create(slug="kk", name="Kazakh speakers", rule="language = kk")
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]], segment=segment.pk)
    page = confirm_page(comms_client, send)
    assert '<strong id="recipient-count">0</strong>' in page
    assert "Choose other lists or a wider segment." in page
    assert "already-received-note" not in page
