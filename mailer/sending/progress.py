"""Counters, throughput and ETA of a send, read from the ledger (never from the queue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from mailer.sending.models import Delivery, Send

D = Delivery.Status
THROUGHPUT_WINDOW_SECONDS = 30


# Counting a large ledger is a scan of all its rows (about 0.5 s for 1,000,000 rows on
# PostgreSQL here); for large sends the counts are shared for a moment between the
# progress page, the API and ``send_issue --wait``, however many people watch.
PROGRESS_CACHE_MIN_ROWS = 50_000
PROGRESS_CACHE_SECONDS = 2


def ledger_summary(send_id: int, window_seconds: int = THROUGHPUT_WINDOW_SECONDS) -> dict[str, int]:
    """Rows per Delivery status (every status present, zero if none), rows flagged possibly
    duplicated, and messages accepted in the last ``window_seconds`` — in one pass."""
    since = timezone.now() - timedelta(seconds=window_seconds)
    aggregates: dict[str, Any] = {s.value: Count("id", filter=Q(status=s.value)) for s in D}
    aggregates["possibly_duplicated"] = Count("id", filter=Q(possibly_duplicated=True))
    aggregates["recent_sent"] = Count("id", filter=Q(status=D.SENT, sent_at__gte=since))
    # Deferred: waiting to retry after the relay answered (4xx, dropped connection).
    deferred = Q(status=D.RETRYING) & ~Q(smtp_reply="")
    aggregates["deferred"] = Count("id", filter=deferred)
    aggregates["retry_at"] = Min("next_attempt_at", filter=deferred)
    aggregates["active_at"] = Max("updated_at")  # a claim, an outcome or a release
    # When the window's first, and the send's first and last, messages were accepted:
    # rates are measured over the time the send really spent sending.
    aggregates["recent_first_sent_ms"] = Min("sent_at", filter=Q(status=D.SENT, sent_at__gte=since))
    aggregates["first_sent_ms"] = Min("sent_at", filter=Q(status=D.SENT))
    aggregates["last_sent_ms"] = Max("sent_at", filter=Q(status=D.SENT))
    row = Delivery.objects.filter(send_id=send_id).aggregate(**aggregates)
    times = {key: row.pop(key) for key in ("retry_at", "active_at")}
    stamps = {key: row.pop(key) for key in ("recent_first_sent_ms", "first_sent_ms",
                                            "last_sent_ms")}
    summary = {key: int(value or 0) for key, value in row.items()}
    for key, at in times.items():  # as epoch seconds, so the summary stays all ints
        summary[key] = int(at.timestamp()) if at else 0
    for key, at in stamps.items():  # milliseconds: a whole send may take under a second
        summary[key] = int(at.timestamp() * 1000) if at else 0
    return summary


def rate_live(recent_sent: int, recent_first_sent_ms: int, now: datetime) -> float:
    """Messages a second over the last THROUGHPUT_WINDOW_SECONDS, divided by the part of the
    window in which the send was sending: 360 messages in a send 2 s old are 180 a second,
    not 360 / 30 = 12 (which made the ETA of a 2 s send read "360s", issue 12)."""
    if not recent_sent:
        return 0.0
    span = now.timestamp() - recent_first_sent_ms / 1000
    return recent_sent / max(span, 1.0)


def rate_average(sent: int, first_sent_ms: int, last_sent_ms: int) -> float:
    """Messages a second from the first to the last accepted message (at least 1 s), the
    rate a finished send really had; 0.0 if nothing was sent."""
    if not sent:
        return 0.0
    return sent / max((last_sent_ms - first_sent_ms) / 1000, 1.0)


def _summary_for(send: Send) -> dict[str, int]:
    if send.planned_count < PROGRESS_CACHE_MIN_ROWS:
        return ledger_summary(send.pk)
    key = f"send-progress:{send.pk}"
    summary: dict[str, int] | None = cache.get(key)
    if summary is None:
        summary = ledger_summary(send.pk)
        cache.set(key, summary, PROGRESS_CACHE_SECONDS)
    return summary


def send_progress(send_id: int) -> dict[str, Any]:
    """One JSON-ready object describing the send now. Raises Send.DoesNotExist."""
    send = Send.objects.select_related("issue").get(pk=send_id)
    counts = _summary_for(send)
    planned = sum(counts[s.value] for s in D)
    unfinished = counts[D.PENDING] + counts[D.SENDING] + counts[D.RETRYING]
    sending = send.status == Send.Status.SENDING
    # Sending: the live rate of the last moments. Otherwise: the average over the send's
    # actual duration (a finished send showed "0.0 per second", issue 12).
    throughput = (rate_live(counts["recent_sent"], counts["recent_first_sent_ms"], timezone.now())
                  if sending else
                  rate_average(counts[D.SENT], counts["first_sent_ms"], counts["last_sent_ms"]))
    eta = round(unfinished / throughput, 1) if sending and throughput > 0 and unfinished else None
    duration = ((counts["last_sent_ms"] - counts["first_sent_ms"]) / 1000
                if counts["first_sent_ms"] else None)
    deferred = counts["deferred"]
    retry_at = _when(counts["retry_at"])
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
        "possibly_duplicated": counts["possibly_duplicated"],
        "deferred": deferred,
        "retry_at": retry_at.isoformat() if retry_at else None,
        "notices": _notices(send, deferred, retry_at, _when(counts["active_at"])),
        "throughput": round(throughput, 1),
        "throughput_kind": "live" if sending else "average",
        "duration_seconds": round(duration, 1) if duration is not None else None,
        "eta_seconds": eta,
        "scheduled_at": send.scheduled_at.isoformat() if send.scheduled_at else None,
        "started_at": send.started_at.isoformat() if send.started_at else None,
        "finished_at": send.finished_at.isoformat() if send.finished_at else None,
    }


def _when(epoch: int) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def _notices(send: Send, deferred: int, retry_at: datetime | None,
             active_at: datetime | None) -> list[str]:
    """Plain sentences for staff about a send that is slower than it looks."""
    notices: list[str] = []
    if send.status != Send.Status.SENDING:
        return notices
    if deferred and retry_at is not None:
        at = timezone.localtime(retry_at).strftime("%H:%M:%S")
        notices.append(f"{deferred} deferred by the relay, retrying at {at}; nothing is lost "
                       "and the send slows down instead of stopping")
    # Quiet since the later of the last row activity and the last start or resume.
    last = max(filter(None, (active_at, send.updated_at)))
    quiet = (timezone.now() - last).total_seconds()
    waiting_retry = retry_at is not None and retry_at > timezone.now()
    if quiet >= settings.SEND_STALL_WARNING_SECONDS and not waiting_retry:
        notices.append(f"stalled: no message sent or tried for {int(quiet // 60)} minutes "
                       f"(since {timezone.localtime(last):%H:%M}). Nothing is lost; check that "
                       "workers are running (celery worker) and reach the database and the "
                       "broker, and that beat runs the reconciler")
    return notices


def send_is_settled(progress: dict[str, Any]) -> bool:
    """True when no worker will touch the send again without a human (or the clock)."""
    return progress["status"] in {Send.Status.DONE, Send.Status.CANCELLED, Send.Status.FAILED,
                                  Send.Status.PAUSED}
