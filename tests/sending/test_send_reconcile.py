"""The reconciler starts due sends, re-enqueues lost batches and finishes sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.control import send_cancel
from mailer.sending.delivery import CANCELLED_REPLY, STRANDED_REPLY
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_schedule, send_start
from mailer.sending.reconcile import sends_reconcile
from mailer.sink.server import SinkServer
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


def test_it_settles_rows_a_stopped_worker_held_when_the_send_was_cancelled(
        started: Send) -> None:
    rows = list(Delivery.objects.filter(send=started).order_by("id"))
    expired = timezone.now() - timedelta(minutes=1)
    Delivery.objects.filter(pk__in=[r.pk for r in rows[:2]]).update(
        status="sending", lease_owner="dead-worker", lease_until=expired)
    Delivery.objects.filter(pk=rows[2].pk).update(
        status="sending", lease_owner="live-worker", lease_until=timezone.now() + timedelta(minutes=5))
    send_cancel(started.pk)

    assert sends_reconcile().settled == 2
    outcomes = {d.pk: (d.status, d.smtp_reply) for d in Delivery.objects.filter(send=started)}
    assert outcomes[rows[0].pk] == ("failed", STRANDED_REPLY)  # may have been on the wire
    assert outcomes[rows[1].pk] == ("skipped", CANCELLED_REPLY)
    assert outcomes[rows[2].pk][0] == "sending"  # its worker is alive and will record it


def worker_dies_on(send: Send) -> None:
    """What a worker killed mid-batch leaves: the batch running, its heartbeat silent."""
    SendBatch.objects.filter(send=send).update(
        status="running", touched_at=timezone.now() - timedelta(minutes=5))


def test_it_counts_a_death_for_a_batch_whose_heartbeat_went_silent(started: Send) -> None:
    worker_dies_on(started)
    report = sends_reconcile()
    assert (report.requeued, report.paused) == (1, 0)
    assert batch(started).worker_deaths == 1


def test_a_batch_that_keeps_killing_its_worker_pauses_the_send(
        started: Send, settings: object) -> None:
    for _ in range(3):  # SEND_WORKER_DEATHS_PAUSE
        worker_dies_on(started)
        sends_reconcile()
    started.refresh_from_db()
    assert started.status == "paused"
    assert "a worker process died 3 times on this batch" in started.status_reason
    assert "Check the worker logs and memory, then resume" in started.status_reason
    assert batch(started).enqueued_count == 3  # the third death was not re-queued


def test_resume_gives_a_crash_looping_batch_a_fresh_count(started: Send) -> None:
    from mailer.sending.control import send_resume

    for _ in range(3):
        worker_dies_on(started)
        sends_reconcile()
    send_resume(started.pk)
    b = batch(started)
    assert (b.status, b.worker_deaths) == ("queued", 0)


def test_a_free_worker_takes_over_the_batch_of_a_worker_that_died(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, settings: object) -> None:
    """Without waiting for the reconciler to queue it behind every other batch."""
    from mailer.sending.tasks import send_batch

    settings.SEND_BATCH_SIZE = 2  # type: ignore[attr-defined]
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    first, second = SendBatch.objects.filter(send=send).order_by("low_id")
    gone = timezone.now() - timedelta(minutes=2)
    SendBatch.objects.filter(pk=first.pk).update(status="running", touched_at=gone)
    Delivery.objects.filter(send=send, id__lte=first.high_id).update(
        status="sending", lease_owner="dead-worker", lease_until=gone)

    send_batch(send.pk, second.low_id, second.high_id)

    assert len(sink.messages()) == 4
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"sent"}
    assert SendBatch.objects.get(pk=first.pk).worker_deaths == 1
    assert Send.objects.get(pk=send.pk).status == "done"
