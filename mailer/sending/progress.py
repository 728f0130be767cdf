"""Counters, throughput and ETA of a send, read from the ledger (never from the queue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from mailer.sending.models import Delivery, Send

D = Delivery.Status
THROUGHPUT_WINDOW_SECONDS = 30


def send_counts(send_id: int) -> dict[str, int]:
    """Rows per Delivery status (every status present, zero if none)."""
    rows = (Delivery.objects.filter(send_id=send_id).values("status")
            .annotate(n=Count("id")).order_by())
    counts = {s.value: 0 for s in D}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def send_throughput(send_id: int, window_seconds: int = THROUGHPUT_WINDOW_SECONDS) -> float:
    """Messages accepted per second over the last ``window_seconds``."""
    since = timezone.now() - timedelta(seconds=window_seconds)
    n = Delivery.objects.filter(send_id=send_id, status=D.SENT, sent_at__gte=since).count()
    return n / window_seconds


def send_progress(send_id: int) -> dict[str, Any]:
    """One JSON-ready object describing the send now. Raises Send.DoesNotExist."""
    send = Send.objects.select_related("issue").get(pk=send_id)
    counts = send_counts(send_id)
    planned = sum(counts.values())
    unfinished = counts[D.PENDING] + counts[D.SENDING] + counts[D.RETRYING]
    throughput = send_throughput(send_id) if send.status == Send.Status.SENDING else 0.0
    if send.started_at and send.status == Send.Status.SENDING and throughput == 0.0:
        elapsed = max((timezone.now() - send.started_at).total_seconds(), 1.0)
        throughput = counts[D.SENT] / elapsed
    eta = round(unfinished / throughput, 1) if throughput > 0 and unfinished else None
    return {
        "id": send.pk,
        "issue": send.issue.slug,
        "status": send.status,
        "status_reason": send.status_reason,
        "planned": planned,
        "sent": counts[D.SENT],
        "failed": counts[D.FAILED],
        "bounced": counts[D.BOUNCED],
        "skipped": counts[D.SKIPPED],
        "pending": counts[D.PENDING],
        "sending": counts[D.SENDING],
        "retrying": counts[D.RETRYING],
        "possibly_duplicated": Delivery.objects.filter(send_id=send_id,
                                                       possibly_duplicated=True).count(),
        "throughput": round(throughput, 1),
        "eta_seconds": eta if send.status == Send.Status.SENDING else None,
        "scheduled_at": send.scheduled_at.isoformat() if send.scheduled_at else None,
        "started_at": send.started_at.isoformat() if send.started_at else None,
        "finished_at": send.finished_at.isoformat() if send.finished_at else None,
    }


def send_is_settled(progress: dict[str, Any]) -> bool:
    """True when no worker will touch the send again without a human (or the clock)."""
    return progress["status"] in {Send.Status.DONE, Send.Status.CANCELLED, Send.Status.FAILED,
                                  Send.Status.PAUSED}
