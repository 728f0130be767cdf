"""The delivery log of a send: a CSV export streamed by keyset, and a failure summary."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TextIO

from django.db.models import Count

from mailer.sending.models import Delivery

LOG_COLUMNS = ("delivery_id", "email", "status", "attempts", "smtp_code", "smtp_reply",
               "message_id", "sent_at", "possibly_duplicated", "language", "list")
PAGE = 5000


def delivery_log_rows(send_id: int, statuses: Iterable[str] = ()) -> Iterator[list[str]]:
    """One row per delivery in id order, fetched ``PAGE`` at a time by keyset (never
    OFFSET, never the whole ledger in memory)."""
    wanted = list(statuses)
    last = 0
    while True:
        qs = Delivery.objects.filter(send_id=send_id, id__gt=last).order_by("id")
        if wanted:
            qs = qs.filter(status__in=wanted)
        page = list(qs.values_list("id", "email", "status", "attempts", "smtp_code",
                                   "smtp_reply", "message_id", "sent_at", "possibly_duplicated",
                                   "variant__language", "mailing_list__slug")[:PAGE])
        if not page:
            return
        for row in page:
            (pk, email, status, attempts, code, reply, mid, sent_at, dup, lang, slug) = row
            yield [str(pk), email, status, str(attempts), "" if code is None else str(code),
                   " ".join(reply.split()), mid, sent_at.isoformat() if sent_at else "",
                   "yes" if dup else "", lang or "", slug or ""]
        last = page[-1][0]


def delivery_log_write(send_id: int, out: TextIO, statuses: Iterable[str] = ()) -> int:
    """Write the CSV log to ``out``; returns the number of data rows."""
    writer = csv.writer(out)
    writer.writerow(LOG_COLUMNS)
    n = 0
    for row in delivery_log_rows(send_id, statuses):
        writer.writerow(row)
        n += 1
    return n


def failure_summary(send_id: int, limit: int = 10) -> list[tuple[str, int | None, str, int]]:
    """(status, smtp_code, reply, count) of the most common non-sent outcomes."""
    rows = (Delivery.objects.filter(send_id=send_id,
                                    status__in=("failed", "bounced", "retrying", "skipped"))
            .values_list("status", "smtp_code", "smtp_reply").annotate(n=Count("id"))
            .order_by("-n")[:limit])
    return [(s, c, r, n) for s, c, r, n in rows]
