"""The send wizard, approvals, test sends and the controls of a running send."""

from __future__ import annotations

import email
import email.policy
import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from mailer.sending.models import Route, Send
from mailer.sending.planning import send_create, send_start
from mailer.web.models import SendApproval
from mailer.web.roles import Role
from subscribers.models import MailingList, Segment, Subscriber
from tests.web.personas import make_user, signed_in


def wizard(client: Client, issue: Issue, lists: list[MailingList], **extra: Any) -> Send:
    data: dict[str, Any] = {"lists": [m.pk for m in lists], "when": "now", **extra}
    response = client.post(reverse("web:send-new", args=[issue.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    send = Send.objects.latest("id")
    assert response["Location"] == reverse("web:send-confirm", args=[send.pk])
    return send


def test_it_counts_recipients_after_dedupe_and_suppressions(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    page = comms_client.get(reverse("web:send-confirm", args=[send.pk])).content.decode()
    # ana is on both lists (once), cy is suppressed, dan is unconfirmed: ana, bek, eve remain.
    assert '<strong id="recipient-count">3</strong>' in page
    assert send.status == Send.Status.DRAFT


def test_the_wizard_offers_smtp_routes_once_an_admin_has_added_one(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    url = reverse("web:send-new", args=[issue.pk])
    assert 'name="smtp_route"' not in comms_client.get(url).content.decode()
    route = Route.objects.create(name="partners-relay", url="smtp://127.0.0.1:2525")
    assert 'name="smtp_route"' in comms_client.get(url).content.decode()
    send = wizard(comms_client, issue, [lists["partners"]], smtp_route=route.pk)
    assert send.smtp_route == route
    page = comms_client.get(reverse("web:send-confirm", args=[send.pk])).content.decode()
    assert "partners-relay" in page


def test_it_breaks_the_count_down_by_list_and_language(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    from mailer.web.wizard import audience_summary

    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    summary = audience_summary(send)
    assert dict(summary.by_list) == {"News": 2, "Partners": 2}
    assert dict(summary.by_language) == {"English": 2, "Русский": 1}
    assert (summary.subscriptions, summary.duplicates, summary.suppressed) == (5, 1, 1)


def test_it_leaves_out_members_of_excluded_lists(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]],
                  excluded_lists=[lists["staff"].pk])
    page = comms_client.get(reverse("web:send-confirm", args=[send.pk])).content.decode()
    assert '<strong id="recipient-count">2</strong>' in page


def test_it_narrows_the_audience_to_a_segment(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    segment = Segment.objects.create(slug="ru", name="Russian speakers", rule="language = ru")
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]], segment=segment.pk)
    page = comms_client.get(reverse("web:send-confirm", args=[send.pk])).content.decode()
    assert '<strong id="recipient-count">1</strong>' in page


def test_it_refuses_a_list_both_chosen_and_left_out(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList]) -> None:
    response = comms_client.post(reverse("web:send-new", args=[issue.pk]), {
        "lists": [lists["news"].pk], "excluded_lists": [lists["news"].pk], "when": "now"})
    assert response.status_code == 200
    assert b"cannot be both chosen and left out" in response.content
    assert not Send.objects.exists()


def test_it_sends_nothing_when_the_typed_number_is_wrong(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    response = comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "4"})
    assert response.status_code == 200
    assert b"Nothing was sent" in response.content
    send.refresh_from_db()
    assert send.status == Send.Status.DRAFT and not send.deliveries.exists()


def test_it_starts_the_send_when_the_typed_number_matches(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    response = comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "3"})
    assert response["Location"] == reverse("web:send-detail", args=[send.pk])
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING
    assert sorted(send.deliveries.values_list("email", flat=True)) == [
        "ana@ngo.kz", "bek@ngo.kg", "eve@iom.int"]


def test_it_accepts_the_number_typed_with_a_thousands_separator(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"]])
    comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": " 2 "})
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING


def test_it_schedules_a_send_for_a_later_time(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    send = wizard(comms_client, issue, [lists["partners"]], when="later",
                  scheduled_at="2099-01-01T09:00")
    comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "2"})
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED
    assert send.scheduled_at is not None and send.scheduled_at.year == 2099


def test_it_refuses_a_time_in_the_past(comms_client: Client, issue: Issue,
                                       lists: dict[str, MailingList]) -> None:
    response = comms_client.post(reverse("web:send-new", args=[issue.pk]), {
        "lists": [lists["news"].pk], "when": "later", "scheduled_at": "2001-01-01T09:00"})
    assert b"This time has passed" in response.content


def test_it_holds_a_large_send_until_another_admin_approves(
        comms_client: Client, admin_client: Client, issue: Issue,
        lists: dict[str, MailingList], audience: dict[str, Subscriber], settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 2
    send = wizard(comms_client, issue, [lists["partners"], lists["news"]])
    comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "3"})
    send.refresh_from_db()
    assert send.status == Send.Status.DRAFT
    assert SendApproval.objects.get(send=send).recipient_count == 3
    admin_client.post(reverse("web:send-approve", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING


def test_it_does_not_let_an_admin_approve_their_own_send(
        admin_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber], settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 1
    send = wizard(admin_client, issue, [lists["partners"]])
    admin_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "2"})
    response = admin_client.post(reverse("web:send-approve", args=[send.pk]), follow=True)
    assert b"another Admin must approve it" in response.content
    send.refresh_from_db()
    assert send.status == Send.Status.DRAFT


def test_it_does_not_let_comms_staff_approve(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber], settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 1
    send = wizard(comms_client, issue, [lists["partners"]])
    comms_client.post(reverse("web:send-confirm", args=[send.pk]), {"typed_count": "2"})
    other = signed_in(make_user("carl", Role.COMMS))
    assert other.post(reverse("web:send-approve", args=[send.pk])).status_code == 403


def test_it_discards_a_draft_when_going_back_and_keeps_the_choices(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList]) -> None:
    send = wizard(comms_client, issue, [lists["partners"]])
    response = comms_client.post(reverse("web:send-discard", args=[send.pk]))
    assert not Send.objects.filter(pk=send.pk).exists()
    page = comms_client.get(response["Location"]).content.decode()
    assert re.search(rf'name="lists" value="{lists["partners"].pk}"[^>]*checked', page)


@pytest.fixture
def running_send(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
                 comms_user: User) -> Send:
    send = send_create(issue, [lists["partners"]], created_by=comms_user)
    send_start(send.pk)
    send.refresh_from_db()
    return send


def test_it_pauses_resumes_and_cancels_a_send(comms_client: Client, running_send: Send) -> None:
    pk = running_send.pk
    comms_client.post(reverse("web:send-pause", args=[pk]))
    assert Send.objects.get(pk=pk).status == Send.Status.PAUSED
    comms_client.post(reverse("web:send-resume", args=[pk]))
    assert Send.objects.get(pk=pk).status == Send.Status.SENDING
    comms_client.post(reverse("web:send-cancel", args=[pk]))
    assert Send.objects.get(pk=pk).status == Send.Status.CANCELLED


def test_it_explains_a_control_that_does_not_apply(comms_client: Client,
                                                   running_send: Send) -> None:
    response = comms_client.post(reverse("web:send-resume", args=[running_send.pk]), follow=True)
    assert b"Only a paused send can be resumed" in response.content


def test_it_reports_progress_as_json(viewer_client: Client, running_send: Send) -> None:
    data = json.loads(viewer_client.get(reverse("web:send-status", args=[running_send.pk])).content)
    assert (data["status"], data["planned"], data["percent"], data["done"]) == ("sending", 2, 0, 0)
    assert data["errors"] == []


def test_it_sends_a_test_to_me_and_named_addresses(
        comms_client: Client, issue: Issue, smtp_sink: Any) -> None:
    response = comms_client.post(reverse("web:issue-test-send", args=[issue.pk]), {
        "include_me": "on", "addresses": "a@example.org, b@example.org", "language": "en"},
        follow=True)
    assert b"Test sent to casey@staff.example.org, a@example.org, b@example.org" in response.content
    stored = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
              for p in smtp_sink.messages()]
    assert sorted(m["To"].addresses[0].addr_spec for m in stored) == [
        "a@example.org", "b@example.org", "casey@staff.example.org"]
    assert all(m["Subject"].startswith("[TEST] ") for m in stored)


def test_it_refuses_more_than_ten_test_addresses(comms_client: Client, issue: Issue,
                                                 smtp_sink: Any) -> None:
    addresses = "\n".join(f"t{n}@example.org" for n in range(11))
    response = comms_client.post(reverse("web:issue-test-send", args=[issue.pk]), {
        "addresses": addresses, "language": "en"}, follow=True)
    assert b"At most 10 addresses" in response.content
    assert smtp_sink.messages() == []


def test_it_explains_a_broken_segment_rule_instead_of_failing(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList],
        audience: dict[str, Subscriber]) -> None:
    segment = Segment.objects.create(slug="bad", name="Bad rule", rule="country in (")
    send = wizard(comms_client, issue, [lists["news"]], segment=segment.pk)
    response = comms_client.get(reverse("web:send-confirm", args=[send.pk]))
    assert response.status_code == 200
    assert "has a broken rule" in response.content.decode()
    assert 'name="typed_count"' not in response.content.decode()
