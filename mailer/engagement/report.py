"""Engagement figures of a send, an issue, and the last issues.

Counting rules: a message counts once however often it is opened (``visitor``); a click
implies an open, so "unique opens" are the messages with any person event. Machines
and privacy proxies are counted apart, and only for messages no person opened.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from mailer.bounces.models import BounceEvent
from mailer.engagement.charts import TimeChart, time_chart
from mailer.engagement.intake import hits_flush_all
from mailer.engagement.models import Actor, Event, Kind, TrackedLink
from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from subscribers.models import Subscription, SubscriptionEvent

D = Delivery.Status
CHART_HOURS = 72


class Rates:
    """Open and click rates of people (machines and proxies left out) among those the
    mail reached; None when it reached nobody."""

    delivered: int
    opens_unique: int
    clicks_unique: int

    @property
    def open_rate(self) -> float | None:
        return self.opens_unique / self.delivered if self.delivered else None

    @property
    def click_rate(self) -> float | None:
        return self.clicks_unique / self.delivered if self.delivered else None


@dataclass
class LinkFigures:
    url: str
    clicks_unique: int
    clicks_total: int


@dataclass
class Breakdown:
    value: str
    delivered: int
    opens_unique: int
    clicks_unique: int


@dataclass
class Engagement(Rates):
    tracking_mode: str
    delivered: int
    opens_unique: int
    opens_machine: int
    opens_privacy_proxy: int
    clicks_unique: int
    clicks_total: int
    clicks_machine: int
    unsubscribes: int
    bounces: int
    complaints: int
    links: list[LinkFigures] = field(default_factory=list)
    by_list: list[Breakdown] = field(default_factory=list)
    by_language: list[Breakdown] = field(default_factory=list)
    by_country: list[Breakdown] = field(default_factory=list)

    @property
    def click_to_open(self) -> float | None:
        return self.clicks_unique / self.opens_unique if self.opens_unique else None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(open_rate=self.open_rate, click_rate=self.click_rate,
                   click_to_open=self.click_to_open)
        return out


def _visitors(qs: QuerySet[Event]) -> int:
    return qs.values("visitor").distinct().count()


def _send_counts(send_ids: list[int]) -> dict[str, int]:
    ev = Event.objects.filter(send_id__in=send_ids)
    person = ev.filter(actor=Actor.PERSON)
    people = person.values("visitor")
    clicks = person.filter(kind=Kind.CLICK)
    return {
        "opens_unique": _visitors(person),
        "opens_machine": _visitors(ev.filter(actor=Actor.MACHINE).exclude(visitor__in=people)),
        "opens_privacy_proxy": _visitors(ev.filter(actor=Actor.PROXY).exclude(visitor__in=people)),
        "clicks_unique": _visitors(clicks),
        "clicks_total": clicks.count(),
        "clicks_machine": _visitors(ev.filter(actor=Actor.MACHINE, kind=Kind.CLICK)),
    }


def _links(send_ids: list[int], issue_id: int) -> list[LinkFigures]:
    clicked = {r["link_id"]: r for r in Event.objects.filter(
        send_id__in=send_ids, kind=Kind.CLICK, actor=Actor.PERSON).values("link_id")
        .annotate(unique=Count("visitor", distinct=True), total=Count("id")).order_by()}
    rows = [LinkFigures(url, clicked.get(pk, {}).get("unique", 0), clicked.get(pk, {}).get("total", 0))
            for pk, url in TrackedLink.objects.filter(issue_id=issue_id).values_list("pk", "url")]
    return sorted(rows, key=lambda r: (-r.clicks_unique, -r.clicks_total, r.url))


DIMENSIONS = {  # breakdown -> (delivery column, event column)
    "by_list": ("mailing_list__slug", "mailing_list__slug"),
    "by_language": ("variant__language", "language"),
    "by_country": ("subscriber__country", "country"),
}


def _breakdown(send_ids: list[int], dim: str) -> list[Breakdown]:
    d_col, e_col = DIMENSIONS[dim]
    delivered = dict(Delivery.objects.filter(send_id__in=send_ids, status=D.SENT)
                     .values_list(d_col).annotate(n=Count("id")).order_by())
    person = Event.objects.filter(send_id__in=send_ids, actor=Actor.PERSON)
    opens = dict(person.values_list(e_col).annotate(n=Count("visitor", distinct=True)).order_by())
    clicks = dict(person.filter(kind=Kind.CLICK).values_list(e_col)
                  .annotate(n=Count("visitor", distinct=True)).order_by())
    keys = sorted(set(delivered) | set(opens), key=lambda k: (-delivered.get(k, 0), k or ""))
    return [Breakdown(k or "—", delivered.get(k, 0), opens.get(k, 0), clicks.get(k, 0))
            for k in keys]


def unsubscribed_since(send: Send) -> int:
    """Recipients who unsubscribed (from any list, or everything) after the send started."""
    if send.started_at is None:
        return 0
    return (SubscriptionEvent.objects
            .filter(subscriber_id__in=Delivery.objects.filter(send=send).values("subscriber_id"),
                    created_at__gte=send.started_at)
            .filter(Q(new_status=Subscription.Status.UNSUBSCRIBED) | Q(action="leave_everything"))
            .values("subscriber_id").distinct().count())


def engagement(sends: list[Send], *, flush: bool = True) -> Engagement:
    """Figures over ``sends`` (all of one issue); ``flush`` first turns waiting hits into
    events so the figures include every request received until now."""
    if flush:
        hits_flush_all()
    ids = [s.pk for s in sends]
    outcomes = dict(Delivery.objects.filter(send_id__in=ids).values_list("status")
                    .annotate(n=Count("id")).order_by())
    complaints = BounceEvent.objects.filter(
        kind=BounceEvent.Kind.COMPLAINT,
        delivery_id__in=Delivery.objects.filter(send_id__in=ids).values("pk")).count()
    modes = sorted({s.tracking_mode or "off" for s in sends})
    counts = _send_counts(ids)
    figures = Engagement(
        tracking_mode=", ".join(modes) or "off", delivered=outcomes.get(D.SENT, 0),
        opens_unique=counts["opens_unique"], opens_machine=counts["opens_machine"],
        opens_privacy_proxy=counts["opens_privacy_proxy"], clicks_unique=counts["clicks_unique"],
        clicks_total=counts["clicks_total"], clicks_machine=counts["clicks_machine"],
        unsubscribes=sum(unsubscribed_since(s) for s in sends), bounces=outcomes.get(D.BOUNCED, 0),
        complaints=complaints)
    if sends:
        figures.links = _links(ids, sends[0].issue_id)
    for dim in DIMENSIONS:
        setattr(figures, dim, _breakdown(ids, dim))
    return figures


def send_engagement(send: Send, *, flush: bool = True) -> Engagement:
    return engagement([send], flush=flush)


def issue_engagement(issue: Issue, *, flush: bool = True) -> Engagement:
    """One issue across its sends (a person gets an issue once, so the sums hold)."""
    return engagement(list(issue.sends.exclude(status=Send.Status.DRAFT)), flush=flush)


def engagement_chart(send: Send, *, width: int = 600, height: int = 120) -> tuple[TimeChart, TimeChart]:
    """(opens, clicks) by people per hour over the first 72 hours after the send started."""
    start = send.started_at or send.created_at
    end = start + timedelta(hours=CHART_HOURS)
    person = Event.objects.filter(send=send, actor=Actor.PERSON, at__lte=end)
    charts = []
    for kind in (Kind.OPEN, Kind.CLICK):
        times = person.filter(kind=kind).values_list("at", flat=True).iterator()
        charts.append(time_chart(times, start, end, width=width, height=height,
                                 step=timedelta(hours=1), ticks=3))
    return charts[0], charts[1]


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def engagement_csv_rows(figures: Engagement) -> Iterator[list[str]]:
    """Summary, links and breakdowns as one CSV: section, name, then the figures."""
    yield ["section", "name", "delivered", "opens_unique", "clicks_unique", "clicks_total"]
    yield ["summary", "all", str(figures.delivered), str(figures.opens_unique),
           str(figures.clicks_unique), str(figures.clicks_total)]
    for name in ("opens_machine", "opens_privacy_proxy", "clicks_machine", "unsubscribes",
                 "bounces", "complaints"):
        yield ["summary", name, "", str(getattr(figures, name)), "", ""]
    for name in ("open_rate", "click_rate", "click_to_open"):
        yield ["summary", name, "", _rate(getattr(figures, name)), "", ""]
    for link in figures.links:
        yield ["link", link.url, "", "", str(link.clicks_unique), str(link.clicks_total)]
    for dim in DIMENSIONS:
        for row in getattr(figures, dim):
            yield [dim.removeprefix("by_"), row.value, str(row.delivered), str(row.opens_unique),
                   str(row.clicks_unique), ""]


class _Echo:
    def write(self, value: str) -> str:
        return value


def engagement_csv(figures: Engagement) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in engagement_csv_rows(figures):
        yield writer.writerow(row)


@dataclass
class IssueRates(Rates):
    delivered: int
    opens_unique: int
    clicks_unique: int


def issues_rates(issue_ids: list[int]) -> dict[int, IssueRates]:
    """Issue id -> delivered, people's unique opens and clicks, for issues that reached
    anyone; three grouped queries whatever the number of issues."""
    delivered = dict(Delivery.objects.filter(send__issue_id__in=issue_ids, status=D.SENT)
                     .values_list("send__issue_id").annotate(n=Count("id")).order_by())
    person = Event.objects.filter(send__issue_id__in=issue_ids, actor=Actor.PERSON)
    opens = dict(person.values_list("send__issue_id")
                 .annotate(n=Count("visitor", distinct=True)).order_by())
    clicks = dict(person.filter(kind=Kind.CLICK).values_list("send__issue_id")
                  .annotate(n=Count("visitor", distinct=True)).order_by())
    return {pk: IssueRates(n, opens.get(pk, 0), clicks.get(pk, 0))
            for pk, n in delivered.items() if n}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def engagement_lines(figures: Engagement, top_links: int = 5) -> str:
    """The figures as a few lines for a terminal."""
    if figures.tracking_mode == "off":
        return "Tracking was off for this send: no opens or clicks were recorded."
    lines = [f"Opened by people: {figures.opens_unique} ({_pct(figures.open_rate)}); "
             f"clicked: {figures.clicks_unique} ({_pct(figures.click_rate)}), "
             f"click-to-open {_pct(figures.click_to_open)}",
             f"Not counted as people: {figures.opens_machine} opened only by scanners, "
             f"{figures.opens_privacy_proxy} only by Apple Mail Privacy Protection"]
    for link in figures.links[:top_links]:
        lines.append(f"  {link.clicks_unique:>7}  {link.url}")
    return "\n".join(lines)


def person_activity(send: Send, subscriber_ids: list[int]) -> dict[int, str]:
    """Subscriber id -> "clicked" or "opened" for people of a per-person send (empty for
    everyone else: aggregate tracking does not know who)."""
    out: dict[int, str] = {}
    for sub_id, kind in (Event.objects.filter(send=send, actor=Actor.PERSON,
                                              subscriber_id__in=subscriber_ids)
                         .values_list("subscriber_id", "kind").distinct()):
        if kind == Kind.CLICK or sub_id not in out:
            out[sub_id] = "clicked" if kind == Kind.CLICK else "opened"
    return out
