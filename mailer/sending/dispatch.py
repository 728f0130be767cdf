"""Handing batches to Celery, always after the rows they name are committed."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from mailer.sending.models import SendBatch


def send_queue() -> str:
    """The Celery queue of send tasks: SEND_TASK_QUEUE (setting or environment),
    default "celery". Dedicated sending workers run with ``-Q <that queue>``."""
    return str(settings.SEND_TASK_QUEUE)


def batch_publish(send_id: int, low_id: int, high_id: int, *, countdown: float | None = None,
                  ) -> None:
    from mailer.sending.tasks import send_batch  # tasks import the domain, not vice versa

    if countdown is None:
        send_batch.apply_async((send_id, low_id, high_id), queue=send_queue())
    else:
        send_batch.apply_async((send_id, low_id, high_id), queue=send_queue(), countdown=countdown)


def batches_enqueue(send_id: int, batches: QuerySet[SendBatch]) -> int:
    """Mark ``batches`` queued and enqueue one ``send_batch`` task each on commit.

    Only ids travel through the broker (DESIGN.md invariant 2). Returns how many.
    """
    ranges = list(batches.order_by("low_id").values_list("pk", "low_id", "high_id"))
    if not ranges:
        return 0
    SendBatch.objects.filter(pk__in=[pk for pk, _, _ in ranges]).update(
        status=SendBatch.Status.QUEUED, touched_at=timezone.now(),
        enqueued_count=F("enqueued_count") + 1)

    def publish() -> None:
        for _, low, high in ranges:
            batch_publish(send_id, low, high)

    transaction.on_commit(publish)
    return len(ranges)
