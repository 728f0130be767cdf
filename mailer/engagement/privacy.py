"""A person's engagement events for their data download. Erasure needs no code here:
deleting the subscriber deletes their events (``Event.subscriber`` cascades)."""

from __future__ import annotations

from typing import Any

from mailer.engagement.models import Event


def engagement_data(subscriber_id: int) -> list[dict[str, Any]]:
    """Every per-person open and click we hold about the person, oldest first."""
    rows = (Event.objects.filter(subscriber_id=subscriber_id).select_related("send__issue", "link")
            .order_by("at", "pk"))
    return [{"when": e.at.isoformat(), "what": e.kind, "counted_as": e.actor,
             "issue": e.send.issue.title, "link": e.link.url if e.link else None}
            for e in rows]
