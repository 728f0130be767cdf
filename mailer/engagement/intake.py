"""Recording hits cheaply, and turning them into events in bulk.

``hit_record`` is the only write a pixel load or a click makes: one INSERT, no read of
the delivery, no counter updated in place, so a burst of opens after a big send costs
the web app one short statement per request. ``hits_flush`` (beat, every
``TRACKING_FLUSH_SECONDS``, and before a report is read) claims hits in order, looks up
their deliveries in one query, writes the events in one bulk INSERT and deletes the
hits in the same transaction: a crash leaves the hits for the next flush.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from mailer.engagement.models import Actor, Event, Hit, Kind, TrackedLink
from mailer.engagement.modes import TrackingMode
from mailer.engagement.tokens import TrackingToken, visitor_key
from mailer.sending.models import Delivery, Send

FLUSH_BATCH = 5000


def hit_record(token: TrackingToken, kind: str, link_id: int | None, actor: str) -> None:
    Hit.objects.create(kind=kind, send_id=token.send_id, delivery_id=token.delivery_id,
                       mode=token.mode, link_id=link_id, actor=actor, sent_at=token.built_at,
                       at=datetime.now(UTC))


def click_target(send_id: int, link_id: int) -> str | None:
    """The URL of ``link_id`` if it belongs to the issue of ``send_id``, else None."""
    issue_id = Send.objects.filter(pk=send_id).values_list("issue_id", flat=True)
    return (TrackedLink.objects.filter(pk=link_id, issue_id__in=issue_id)
            .values_list("url", flat=True).first())


def _delivery_facts(ids: set[int]) -> dict[int, dict[str, Any]]:
    rows = Delivery.objects.filter(pk__in=ids).values(
        "pk", "send_id", "subscriber_id", "mailing_list_id", "variant__language",
        "subscriber__country")
    return {r["pk"]: dict(r) for r in rows}


def _event(hit: Hit, facts: dict[str, Any]) -> Event:
    per_person = hit.mode == TrackingMode.PER_PERSON
    return Event(send_id=hit.send_id, kind=hit.kind, actor=hit.actor, link_id=hit.link_id,
                 visitor=visitor_key(hit.send_id, hit.delivery_id),
                 subscriber_id=facts["subscriber_id"] if per_person else None,
                 mailing_list_id=facts["mailing_list_id"],
                 language=facts["variant__language"] or "",
                 country=facts["subscriber__country"] or "",
                 seconds_after=max(int((hit.at - hit.sent_at).total_seconds()), 0), at=hit.at)


def hits_flush(limit: int = FLUSH_BATCH) -> int:
    """Turn up to ``limit`` waiting hits into events; returns how many hits were taken.
    Hits whose delivery is gone (send deleted, person erased with the ledger blanked)
    are dropped. Two flushes at once take different hits (SKIP LOCKED on PostgreSQL;
    SQLite writers take turns)."""
    with transaction.atomic():
        hits = list(Hit.objects.select_for_update(skip_locked=True).order_by("id")[:limit])
        if not hits:
            return 0
        facts = _delivery_facts({h.delivery_id for h in hits})
        events = [_event(h, facts[h.delivery_id]) for h in hits
                  if h.delivery_id in facts and facts[h.delivery_id]["send_id"] == h.send_id]
        Event.objects.bulk_create(events, batch_size=1000)
        Hit.objects.filter(pk__in=[h.pk for h in hits]).delete()
        scanners_reclassify({(e.send_id, e.visitor) for e in events
                             if e.kind == Kind.CLICK and e.actor == Actor.PERSON
                             and e.seconds_after <= settings.TRACKING_SCANNER_SECONDS})
    return len(hits)


def hits_flush_all(max_batches: int = 20) -> int:
    """Flush until nothing waits, or ``max_batches`` batches (a report page must not
    spend a burst's worth of time flushing; beat takes the rest)."""
    total = 0
    for _ in range(max_batches):
        n = hits_flush()
        if not n:
            break
        total += n
    return total


def scanners_reclassify(candidates: set[tuple[int, str]]) -> int:
    """Messages whose links were hit, several different ones, within
    ``TRACKING_SCANNER_SECONDS`` of delivery: those early events become the machine's.
    Returns how many messages were reclassified."""
    found = 0
    window = settings.TRACKING_SCANNER_SECONDS
    for send_id, visitor in candidates:
        early = Event.objects.filter(send_id=send_id, visitor=visitor, seconds_after__lte=window)
        links = early.filter(kind=Kind.CLICK).values("link_id").distinct().count()
        if links >= _scanner_threshold(send_id):
            early.exclude(actor=Actor.MACHINE).update(actor=Actor.MACHINE)
            found += 1
    return found


def _scanner_threshold(send_id: int) -> int:
    """TRACKING_SCANNER_LINKS, or every link when the issue has fewer (never one: a
    single quick click is a keen reader as often as a scanner)."""
    issue_links = (TrackedLink.objects.filter(issue__sends=send_id)
                   .aggregate(n=Count("pk"))["n"] or 0)
    return max(2, min(settings.TRACKING_SCANNER_LINKS, issue_links))
