"""CSV export of a list or a segment, with consent columns, safe to open in a spreadsheet.

Rows are streamed by keyset (``pk > last``), never by OFFSET, so memory stays flat and
pages stay fast as the audience grows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from django.db.models import Prefetch, QuerySet

from subscribers.models import MailingList, Subscriber, Subscription

PAGE = 2000
HEADER = ["email", "name", "organisation", "country", "language", "tags", "attributes",
          "subscriber_status", "created_at", "list", "status", "consent_at", "consent_method",
          "consent_source", "consent_ip", "consent_text"]
# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV Injection");
# tab and CR are included because some programs strip them and then see the next character.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def cell_safe(value: object) -> str:
    """The value as text that a spreadsheet shows as text: formulas are prefixed with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _pages(qs: QuerySet[Subscriber]) -> Iterator[list[Subscriber]]:
    last = 0
    while True:
        page = list(qs.filter(pk__gt=last).order_by("pk")[:PAGE])
        if not page:
            return
        yield page
        last = page[-1].pk


def _row(sub: Subscriber, subscription: Subscription | None) -> list[str]:
    consent: list[object] = ["", "", "", "", "", "", ""]
    if subscription is not None:
        consent = [subscription.mailing_list.slug, subscription.status,
                   subscription.consent_at.isoformat() if subscription.consent_at else "",
                   subscription.consent_method, subscription.consent_source,
                   subscription.consent_ip or "", subscription.consent_text]
    values: list[object] = [
        sub.email, sub.name, sub.organisation, sub.country, sub.language,
        ",".join(sorted(t.name for t in sub.tags.all())),
        json.dumps(sub.attributes, ensure_ascii=False) if sub.attributes else "",
        sub.status, sub.created_at.isoformat(), *consent]
    return [cell_safe(v) for v in values]


def export_rows(people: QuerySet[Subscriber], mailing_list: MailingList | None = None
                ) -> Iterator[list[str]]:
    """Header, then one row per person. With a list: that list's subscription (any status)
    and consent; without: each person's most recent consent record, if any."""
    yield HEADER
    subs = Subscription.objects.select_related("mailing_list").order_by("-consent_at", "-pk")
    if mailing_list is not None:
        subs = subs.filter(mailing_list=mailing_list)
        people = people.filter(subscriptions__mailing_list=mailing_list)
    qs = people.prefetch_related("tags", Prefetch("subscriptions", queryset=subs,
                                                  to_attr="consents"))
    for page in _pages(qs):
        for sub in page:
            consents: list[Subscription] = getattr(sub, "consents", [])
            yield _row(sub, consents[0] if consents else None)


def export_write(rows: Iterable[list[str]], out: Writable) -> int:
    """Write rows as CSV; returns the number of people written (header excluded)."""
    writer = csv.writer(out, lineterminator="\r\n")
    count = -1
    for row in rows:
        writer.writerow(row)
        count += 1
    return max(count, 0)
