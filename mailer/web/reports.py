"""Report figures for a send: outcomes, deliveries over time, unsubscribes since."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour, TruncMinute

from mailer.sending.models import Delivery, Send
from mailer.sending.report import LOG_COLUMNS, delivery_log_rows
from subscribers.exporter import cell_safe
from subscribers.models import Subscription, SubscriptionEvent

D = Delivery.Status
OUTCOMES = [D.SENT, D.BOUNCED, D.FAILED, D.SKIPPED]
LOG_PAGE = 100


@dataclass
class Bar:
    at: datetime
    count: int
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0


def outcomes(send: Send) -> dict[str, int]:
    rows = dict(Delivery.objects.filter(send=send).values_list("status")
                .annotate(n=Count("id")).order_by())
    counts = {status.value: rows.get(status.value, 0) for status in D}
    counts["unsubscribed_since"] = unsubscribed_since(send)
    return counts


def unsubscribed_since(send: Send) -> int:
    """Recipients who unsubscribed (from any list, or everything) after the send started."""
    if send.started_at is None:
        return 0
    return (SubscriptionEvent.objects
            .filter(subscriber_id__in=Delivery.objects.filter(send=send).values("subscriber_id"),
                    created_at__gte=send.started_at)
            .filter(Q(new_status=Subscription.Status.UNSUBSCRIBED) | Q(action="leave_everything"))
            .values("subscriber_id").distinct().count())


def timeline(send: Send, *, width: int = 600, height: int = 120) -> list[Bar]:
    """Accepted messages per minute (per hour for sends longer than three hours), as bars
    scaled to ``width`` x ``height`` for an inline SVG."""
    sent = Delivery.objects.filter(send=send, status=D.SENT, sent_at__isnull=False)
    span = sent.order_by("sent_at").values_list("sent_at", flat=True)
    first, last = span.first(), sent.order_by("-sent_at").values_list("sent_at", flat=True).first()
    if first is None or last is None:
        return []
    trunc = TruncHour if last - first > timedelta(hours=3) else TruncMinute
    rows = list(sent.annotate(t=trunc("sent_at")).values("t").annotate(n=Count("id"))
                .order_by("t").values_list("t", "n"))
    top = max(n for _, n in rows)
    step = min(max(width // len(rows), 2), 40)
    bars = []
    for i, (t, n) in enumerate(rows):
        h = max(1, round(n * height / top))
        bars.append(Bar(at=t, count=n, x=i * step, y=height - h, width=max(step - 1, 1), height=h))
    return bars


def delivery_log(send: Send, *, query: str = "", status: str = "",
                 after: int = 0) -> QuerySet[Delivery]:
    """One page of the per-recipient log, walked by id (never OFFSET)."""
    rows = Delivery.objects.filter(send=send, id__gt=after).select_related("variant")
    if query:
        rows = rows.filter(email__icontains=query.strip())
    if status in D.values:
        rows = rows.filter(status=status)
    return rows.order_by("id")


class _Echo:
    def write(self, value: str) -> str:
        return value


def delivery_csv_rows(send: Send) -> Iterator[str]:
    """The sending team's delivery log as CSV text, with spreadsheet formulas neutralised
    (a server reply is text from outside: ``=HYPERLINK(...)`` must not run)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(LOG_COLUMNS)
    for row in delivery_log_rows(send.pk):
        yield writer.writerow([cell_safe(v) for v in row])
