"""Report figures for a send: outcomes, deliveries over time, unsubscribes since."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import Count, QuerySet

from mailer.engagement.charts import TimeChart, time_chart
from mailer.engagement.report import unsubscribed_since
from mailer.sending.models import Delivery, Send
from mailer.sending.report import LOG_COLUMNS, delivery_log_rows
from subscribers.exporter import cell_safe

D = Delivery.Status
OUTCOMES = [D.SENT, D.BOUNCED, D.FAILED, D.SKIPPED]
LOG_PAGE = 100


def outcomes(send: Send) -> dict[str, int]:
    rows = dict(Delivery.objects.filter(send=send).values_list("status")
                .annotate(n=Count("id")).order_by())
    counts = {status.value: rows.get(status.value, 0) for status in D}
    counts["unsubscribed_since"] = unsubscribed_since(send)
    return counts


def timeline(send: Send, *, width: int = 600, height: int = 120) -> TimeChart | None:
    """Accepted messages over a real time axis from the first to the last (a short send
    gets second-wide bars and tick labels with seconds), or None before the first."""
    sent = Delivery.objects.filter(send=send, status=D.SENT, sent_at__isnull=False)
    first = sent.order_by("sent_at").values_list("sent_at", flat=True).first()
    last = sent.order_by("-sent_at").values_list("sent_at", flat=True).first()
    if first is None or last is None:
        return None
    times = (t for t in sent.values_list("sent_at", flat=True).iterator() if t is not None)
    return time_chart(times, first, last, width=width, height=height)


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
