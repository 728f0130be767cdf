"""The reconciler: makes sending self-healing after crashes and broker loss.

Runs every minute from Celery beat and once when a worker starts. Because the
database is the truth, it only has to look at rows: start scheduled sends that
are due, re-enqueue batches whose task was lost (queued or running but silent
for too long) or whose retries are due, and finish sends with no unfinished row.
Re-enqueueing a batch that is in fact alive is harmless: claims are atomic.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mailer.sending import delivery as ledger
from mailer.sending import dispatch
from mailer.sending.approval import send_start_due
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import PlanError
from mailer.sending.runner import send_finish_if_complete
from mailer.sending.state import send_transition

log = logging.getLogger(__name__)
QUEUED_STALE_SECONDS = 900  # a queued task unseen for this long was probably lost
# When the broker can say that nothing is waiting or unacknowledged, a batch queued
# longer than this has certainly lost its task.
QUEUED_STALE_IDLE_BROKER_SECONDS = 30


def broker_backlog() -> int | None:
    """Send tasks waiting in, or taken but not acknowledged from, the send queue.
    None when the broker cannot tell (only Redis is asked)."""
    from mailer.celery import app

    url = str(app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    queue = dispatch.send_queue()
    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        waiting = int(client.llen(queue))
        # kombu keeps unacknowledged messages in one hash per db as
        # [message, exchange, routing_key]; count only those of our queue.
        taken = len([raw for raw in client.hvals("unacked") if _routing_key(raw) == queue])
    except redis.RedisError:
        return None
    return waiting + taken


def _routing_key(raw: bytes | str) -> str:
    try:
        return str(json.loads(raw)[2])
    except (ValueError, IndexError, TypeError):
        return ""


@dataclass
class ReconcileReport:
    started: int = 0
    requeued: int = 0
    finished: int = 0
    settled: int = 0  # rows of cancelled sends left behind by a worker that stopped
    paused: int = 0  # sends whose relay has deferred everything for too long


def sends_reconcile(*, queued_stale_seconds: int | None = None) -> ReconcileReport:
    """One pass. ``queued_stale_seconds`` overrides the patience for queued batches
    (a freshly started worker uses the lease length: the previous one may have
    died holding reserved tasks that the broker returns only much later)."""
    report = ReconcileReport()
    now = timezone.now()
    for send_id in Send.objects.filter(status=Send.Status.SCHEDULED,
                                       scheduled_at__lte=now).values_list("pk", flat=True):
        try:
            if send_start_due(send_id):
                report.started += 1
        except PlanError as exc:
            log.warning("scheduled send %s could not start: %s", send_id, exc)
    lease = timedelta(seconds=settings.SEND_LEASE_SECONDS)
    patience = queued_stale_seconds or QUEUED_STALE_SECONDS
    if Send.objects.filter(status=Send.Status.SENDING).exists() and broker_backlog() == 0:
        patience = min(patience, QUEUED_STALE_IDLE_BROKER_SECONDS)
    queued_stale = timedelta(seconds=patience)
    report.paused += batches_dead_workers_note()
    B = SendBatch.Status
    for send_id in Send.objects.filter(status=Send.Status.SENDING).values_list("pk", flat=True):
        lost = SendBatch.objects.filter(send_id=send_id).filter(
            Q(status=B.QUEUED, touched_at__lt=now - queued_stale)
            | Q(status=B.RUNNING, touched_at__lt=now - lease)
            | Q(status=B.WAITING, due_at__lte=now))
        with transaction.atomic():
            report.requeued += dispatch.batches_enqueue(send_id, lost)
        if send_finish_if_complete(send_id):
            report.finished += 1
    # A cancelled send whose worker stopped mid-batch: settle the rows it held.
    cancelled = (Send.objects.filter(status=Send.Status.CANCELLED,
                                     deliveries__status=Delivery.Status.SENDING,
                                     deliveries__lease_until__lt=now)
                 .values_list("pk", flat=True).distinct())
    for send_id in cancelled:
        report.settled += ledger.delivery_stranded_settle(send_id)
    report.paused += sends_pause_deferred_too_long()
    if report.started or report.requeued or report.finished or report.settled or report.paused:
        log.info("reconcile: %s", report)
    return report


def batches_dead_workers_note() -> int:
    """Count a death for every running batch whose heartbeat went silent (its worker
    process died: SIGKILL, segfault, out of memory); the caller re-queues it. A batch
    that has killed SEND_WORKER_DEATHS_PAUSE workers pauses its send instead of
    looping. Returns how many sends were paused."""
    stale = SendBatch.objects.filter(
        send__status=Send.Status.SENDING, status=SendBatch.Status.RUNNING,
        touched_at__lt=timezone.now() - timedelta(seconds=settings.SEND_LEASE_SECONDS))
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    SendBatch.objects.filter(pk__in=ids).update(worker_deaths=F("worker_deaths") + 1)
    paused = 0
    for batch in SendBatch.objects.filter(
            pk__in=ids, worker_deaths__gte=settings.SEND_WORKER_DEATHS_PAUSE):
        reason = (f"paused automatically: a worker process died {batch.worker_deaths} times "
                  f"on this batch (deliveries {batch.low_id}..{batch.high_id}) — a native "
                  "crash, running out of memory or a kill. Every recipient not yet sent is "
                  "kept (at most one message per death may have gone out; those rows are "
                  "flagged possibly duplicated). Check the worker logs and memory, then "
                  "resume the send.")
        if send_transition(batch.send_id, Send.Status.PAUSED, reason=reason):
            log.error("send %s %s", batch.send_id, reason)
            paused += 1
    return paused


def sends_pause_deferred_too_long() -> int:
    """Pause sends whose relay has accepted nothing for SEND_DEFERRAL_PAUSE_SECONDS while
    it kept deferring (4xx, dropped or refused connections): a throttling relay only
    slows a send down, a relay that takes nothing for that long needs a person.
    Returns how many sends were paused."""
    now = timezone.now()
    window = settings.SEND_DEFERRAL_PAUSE_SECONDS
    cutoff = now - timedelta(seconds=window)
    paused = 0
    # updated_at: started or resumed within the window gets the whole window.
    for send_id in Send.objects.filter(status=Send.Status.SENDING, updated_at__lt=cutoff
                                       ).values_list("pk", flat=True):
        rows = Delivery.objects.filter(send_id=send_id)
        latest = (rows.filter(status=Delivery.Status.RETRYING, updated_at__gte=cutoff)
                  .exclude(smtp_reply="").order_by("-updated_at")
                  .values_list("smtp_code", "smtp_reply").first())
        if latest is None or rows.filter(status=Delivery.Status.SENT,
                                         sent_at__gte=cutoff).exists():
            continue
        waiting = rows.filter(status__in=ledger.UNFINISHED).count()
        code, reply = latest
        reason = (f"paused automatically: the relay has accepted no message for "
                  f"{window // 60} minutes and keeps deferring (latest reply: "
                  f"{code or ''} {reply[:200]}); {waiting} recipients wait unsent and nothing "
                  "was lost. Check the relay or the SMTP route, then resume the send.")
        if send_transition(send_id, Send.Status.PAUSED, reason=reason):
            log.warning("send %s %s", send_id, reason)
            paused += 1
    return paused


def send_resume_batches(send_id: int) -> int:
    """After a resume: queue every unfinished batch of the send again."""
    with transaction.atomic():
        SendBatch.objects.filter(send_id=send_id).update(worker_deaths=0)
        return dispatch.batches_enqueue(
            send_id, SendBatch.objects.filter(send_id=send_id).exclude(status=SendBatch.Status.DONE))
