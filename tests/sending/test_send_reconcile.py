"""The reconciler starts due sends, re-enqueues lost batches and finishes sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_schedule, send_start
from mailer.sending.reconcile import sends_reconcile
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> Send:
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    return send


def batch(send: Send) -> SendBatch:
    return SendBatch.objects.get(send=send)


def test_it_starts_a_scheduled_send_once_its_time_has_come(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"]],
                       scheduled_at=timezone.now() - timedelta(seconds=1))
    send_schedule(send.pk)
    assert sends_reconcile().started == 1
    send.refresh_from_db()
    assert send.status == "sending" and Delivery.objects.filter(send=send).count() == 3


def test_it_leaves_a_send_scheduled_for_later_alone(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"]], scheduled_at=timezone.now() + timedelta(hours=1))
    send_schedule(send.pk)
    assert sends_reconcile().started == 0
    assert Send.objects.get(pk=send.pk).status == "scheduled"


def test_it_requeues_a_running_batch_silent_for_longer_than_the_lease(started: Send) -> None:
    SendBatch.objects.filter(send=started).update(
        status="running", touched_at=timezone.now() - timedelta(hours=1))
    assert sends_reconcile().requeued == 1
    b = batch(started)
    assert b.status == "queued" and b.enqueued_count == 2


def test_it_leaves_a_recently_queued_batch_alone(started: Send) -> None:
    assert sends_reconcile().requeued == 0
    assert batch(started).enqueued_count == 1


def test_it_requeues_a_batch_whose_retries_are_due(started: Send) -> None:
    SendBatch.objects.filter(send=started).update(
        status="waiting", due_at=timezone.now() - timedelta(seconds=1))
    assert sends_reconcile().requeued == 1


def test_it_finishes_a_send_whose_rows_are_all_final(started: Send) -> None:
    Delivery.objects.filter(send=started).update(status="sent")
    assert sends_reconcile().finished == 1
    assert Send.objects.get(pk=started.pk).status == "done"


def test_it_requeues_queued_batches_sooner_when_a_worker_starts(started: Send) -> None:
    SendBatch.objects.filter(send=started).update(touched_at=timezone.now() - timedelta(minutes=6))
    assert sends_reconcile().requeued == 0
    assert sends_reconcile(queued_stale_seconds=300).requeued == 1


def test_it_requeues_a_queued_batch_soon_when_the_broker_holds_no_task(
        started: Send, broker: str) -> None:
    SendBatch.objects.filter(send=started).update(touched_at=timezone.now() - timedelta(minutes=1))
    assert sends_reconcile().requeued == 1
