"""Approval holds (issue 10, item 5): once a send leaves draft or waits for approval, its
issue, lists, segment and route are locked everywhere; the approval threshold is checked
again when a scheduled send starts; the staff app, the API and ``send_issue`` pass the
same gate (``mailer.sending.approval.send_go``)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.approval import AWAITING_APPROVAL, send_go
from mailer.sending.models import Route, Send, SendLocked
from mailer.sending.planning import send_create
from mailer.sending.reconcile import sends_reconcile
from mailer.web.models import SendApproval
from subscribers.models import MailingList, Segment, Subscriber
from tests.web.personas import subscriber

pytestmark = pytest.mark.django_db


def scheduled(issue: Issue, lists: list[MailingList], user: User | None = None) -> Send:
    send = send_create(issue, lists, created_by=user,
                       scheduled_at=timezone.now() + timedelta(hours=1))
    assert send_go(send, user=user, recipients=1) == Send.Status.SCHEDULED
    send.refresh_from_db()
    return send


def test_a_scheduled_send_refuses_other_lists_from_either_side(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    send = scheduled(issue, [lists["staff"]])
    # Each write in its own transaction: Django's many-to-many writes do not use a savepoint.
    with pytest.raises(SendLocked, match="can no longer change"), transaction.atomic():
        send.lists.add(lists["news"])
    with pytest.raises(SendLocked), transaction.atomic():
        send.lists.set([lists["news"]])
    with pytest.raises(SendLocked), transaction.atomic():
        send.excluded_lists.add(lists["partners"])
    with pytest.raises(SendLocked), transaction.atomic():
        lists["news"].sends.add(send)
    assert list(send.lists.all()) == [lists["staff"]]


def test_a_scheduled_send_refuses_another_issue_segment_or_route(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    send = scheduled(issue, [lists["staff"]])
    other = Issue.objects.create(slug="other", title="Other")
    segment = Segment.objects.create(slug="kz", name="KZ", rule="country = KZ")
    route = Route.objects.create(name="bulk", url="smtp://127.0.0.1:2525")
    for field, value in (("issue", other), ("segment", segment), ("smtp_route", route)):
        fresh = Send.objects.get(pk=send.pk)
        setattr(fresh, field, value)
        with pytest.raises(SendLocked):
            fresh.save()
    send.refresh_from_db()
    assert (send.issue, send.segment, send.smtp_route) == (issue, None, None)


def test_a_draft_waiting_for_approval_is_locked_and_a_plain_draft_is_not(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        admin_user: User, settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 1
    draft = send_create(issue, [lists["staff"]])
    draft.lists.add(lists["partners"])  # a draft may change
    assert send_go(draft, user=admin_user, recipients=3) == AWAITING_APPROVAL
    assert Send.objects.get(pk=draft.pk).status == Send.Status.DRAFT
    with pytest.raises(SendLocked), transaction.atomic():
        draft.lists.add(lists["news"])


def test_the_django_admin_shows_a_locked_sends_audience_read_only(
        admin_client: Client, issue: Issue, lists: dict[str, MailingList]) -> None:
    send = scheduled(issue, [lists["staff"]])
    url = reverse("admin:sending_send_change", args=[send.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    assert not {"issue", "lists", "excluded_lists", "segment", "smtp_route"} & set(form_fields)
    admin_client.post(url, {"lists": [lists["news"].pk, lists["partners"].pk],
                            "scheduled_at_0": "2099-01-01", "scheduled_at_1": "09:00"})
    assert list(Send.objects.get(pk=send.pk).lists.all()) == [lists["staff"]]


def test_the_django_admin_still_edits_a_draft(admin_client: Client, issue: Issue,
                                              lists: dict[str, MailingList]) -> None:
    draft = send_create(issue, [lists["staff"]])
    page = admin_client.get(reverse("admin:sending_send_change", args=[draft.pk]))
    assert "lists" in page.context["adminform"].form.fields


def test_a_scheduled_send_that_grew_past_the_threshold_waits_for_approval_with_a_reason(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        comms_user: User, admin_client: Client, settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 2
    send = scheduled(issue, [lists["staff"]], comms_user)  # one person: no approval needed
    for n in range(3):  # the list grows before the scheduled time
        subscriber(f"new{n}@ngo.kz", lists=(lists["staff"],))
    Send.objects.filter(pk=send.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))

    assert sends_reconcile().started == 0
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED and not send.deliveries.exists()
    assert "waiting for approval: 4 recipients" in send.status_reason
    approval = SendApproval.objects.get(send=send)
    assert (approval.recipient_count, approval.requested_by, approval.approved_at) == (
        4, comms_user, None)
    assert sends_reconcile().started == 0  # still held on the next pass

    admin_client.post(reverse("web:send-approve", args=[send.pk]))
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING and send.deliveries.count() == 4


def test_a_scheduled_send_within_the_threshold_starts_on_time(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 2
    send = scheduled(issue, [lists["staff"]])
    Send.objects.filter(pk=send.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    assert sends_reconcile().started == 1
    assert Send.objects.get(pk=send.pk).status in (Send.Status.SENDING, Send.Status.DONE)


def test_send_issue_holds_a_large_send_for_an_admins_approval(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 1
    out = io.StringIO()
    call_command("send_issue", str(issue.pk), "--list", "partners", stdout=out)
    send = Send.objects.get(pk=int(out.getvalue().split()[-1]))
    assert send.status == Send.Status.DRAFT and not send.deliveries.exists()
    assert "waits for approval" in out.getvalue()
    assert SendApproval.objects.get(send=send).requested_by is None


def test_the_api_offers_no_way_to_change_a_sends_audience(
        comms_client: Client, issue: Issue, lists: dict[str, MailingList]) -> None:
    from mailer.web.roles import Role
    from mailer.web.tokens import token_create
    from tests.web.personas import make_user

    token = token_create(make_user("apiuser", Role.ADMIN), name="t")
    send = scheduled(issue, [lists["staff"]])
    for method in ("put", "patch"):
        response = getattr(Client(), method)(
            f"/api/sends/{send.pk}", {"lists": ["news"]}, content_type="application/json",
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 405
    assert list(Send.objects.get(pk=send.pk).lists.all()) == [lists["staff"]]


def test_an_approved_scheduled_send_whose_audience_grew_asks_again(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        admin_client: Client, settings: Any) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 1
    send = send_create(issue, [lists["partners"]],
                       scheduled_at=timezone.now() + timedelta(hours=1))
    assert send_go(send, user=None, recipients=2) == AWAITING_APPROVAL
    admin_client.post(reverse("web:send-approve", args=[send.pk]))
    assert Send.objects.get(pk=send.pk).status == Send.Status.SCHEDULED
    subscriber("late@ngo.kz", lists=(lists["partners"],))  # 3 now, approved for 2
    Send.objects.filter(pk=send.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))

    assert sends_reconcile().started == 0
    send.refresh_from_db()
    assert "waiting for approval: 3 recipients" in send.status_reason
    assert "(approved for 2)" in send.status_reason
    approval = SendApproval.objects.get(send=send)
    assert (approval.recipient_count, approval.approved_at) == (3, None)
