"""Engagement conditions of the segment language (``subscribers.segments``).

    opened_within_days = 30        opened an issue in the last 30 days
    clicked_within_issues = 3      clicked a link in any of the last 3 issues sent

Only per-person tracking records who opened or clicked, so people on aggregate or
untracked lists never match (and ``not opened_within_days = 30`` includes them).
Machine and proxy opens never count; a click counts as an open.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Q
from django.utils import timezone

from mailer.engagement.models import Actor, Event, Kind
from mailer.issues.models import Issue

ENGAGEMENT_FIELDS = {
    "opened_within_days": "opened an issue within the last N days (per-person tracking only)",
    "clicked_within_days": "clicked a link within the last N days (per-person tracking only)",
    "opened_within_issues": "opened any of the last N issues sent (per-person tracking only)",
    "clicked_within_issues": "clicked in any of the last N issues sent (per-person tracking only)",
}


def last_issue_ids(n: int) -> list[int]:
    """The ``n`` issues whose latest send started most recently."""
    return list(Issue.objects.filter(sends__started_at__isnull=False)
                .annotate(last=Max("sends__started_at")).order_by("-last")
                .values_list("pk", flat=True)[:n])


def engagement_condition(field: str, n: int) -> Q:
    """A filter on Subscriber for ``field = n``."""
    events = Event.objects.filter(actor=Actor.PERSON, subscriber__isnull=False)
    if field.startswith("clicked"):
        events = events.filter(kind=Kind.CLICK)
    if field.endswith("_days"):
        events = events.filter(at__gte=timezone.now() - timedelta(days=n))
    else:
        events = events.filter(send__issue_id__in=last_issue_ids(n))
    return Q(pk__in=events.values("subscriber_id"))
