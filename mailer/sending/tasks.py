"""Celery tasks: thin wrappers that take ids and call the domain functions."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from mailer.sending.dispatch import batch_publish
from mailer.sending.planning import PlanError
from mailer.sending.planning import send_start as send_start_plan
from mailer.sending.reconcile import sends_reconcile
from mailer.sending.runner import batch_orphan_adopt, batch_retry_in, delivery_send_range

log = logging.getLogger(__name__)


@shared_task(name="mailer.sending.tasks.send_start")
def send_start(send_id: int) -> None:
    try:
        send_start_plan(send_id)
    except PlanError as exc:
        # Recorded on the send as its failure reason; retrying cannot help.
        log.warning("send %s not started: %s", send_id, exc)


@shared_task(name="mailer.sending.tasks.send_batch")
def send_batch(send_id: int, low_id: int, high_id: int) -> None:
    _range_run(send_id, low_id, high_id)
    # A batch whose worker died moves again as soon as a live worker is free.
    while (orphan := batch_orphan_adopt(send_id)) is not None:
        log.warning("send %s batch %s..%s: taken over from a worker that died", send_id, *orphan)
        _range_run(send_id, *orphan)


def _range_run(send_id: int, low_id: int, high_id: int) -> None:
    report = delivery_send_range(send_id, low_id, high_id)
    t = report.timings
    log.info("send %s batch %s..%s: sent %s, retrying %s, failed %s, bounced %s, skipped %s, "
             "connections %s%s; profile (seconds) claim=%.3f build=%.3f rate_limit=%.3f "
             "sign=%.3f smtp=%.3f ledger=%.3f wait=%.3f cpu=%.3f", send_id, low_id, high_id,
             report.sent, report.retrying, report.failed, report.bounced, report.skipped,
             report.connections, f", stopped: {report.stopped}" if report.stopped else "",
             t.claim, t.build, t.rate_limit, t.sign, t.smtp, t.ledger, t.wait, t.cpu)
    retry_in = batch_retry_in(send_id, low_id)
    if retry_in is not None:
        batch_publish(send_id, low_id, high_id, countdown=retry_in)


@shared_task(name="mailer.sending.tasks.reconcile")
def reconcile() -> None:
    sends_reconcile()


@worker_ready.connect
def reconcile_at_start(**_: Any) -> None:
    """A worker that starts after a crash should not wait a minute for beat."""
    reconcile_at_start_run()


def reconcile_at_start_run() -> None:
    sends_reconcile(queued_stale_seconds=settings.SEND_LEASE_SECONDS)
