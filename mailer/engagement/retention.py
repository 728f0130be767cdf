"""Retention of per-person events (``TRACKING_RETENTION_DAYS``).

An old per-person event is turned into an aggregate one: its subscriber is removed and
its visitor key replaced by one derived with a random salt that is never stored, so the
event still counts in its send's figures but can no longer be tied to anyone (not even
with ``SECRET_KEY``). Events of one message reclassified in the same run keep one key,
so unique counts stay right; a message with events on both sides of the cut-off may
count twice in its send's unique figures (a limit the README states).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailer.engagement.models import Event

RETENTION_BATCH = 2000


def events_expire(*, batch: int = RETENTION_BATCH) -> int:
    """Anonymise per-person events older than the retention; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.TRACKING_RETENTION_DAYS)
    salt = secrets.token_bytes(16)
    total = 0
    while True:
        with transaction.atomic():
            rows = list(Event.objects.select_for_update(skip_locked=True)
                        .filter(subscriber__isnull=False, at__lt=cutoff)
                        .order_by("id").values_list("pk", "visitor")[:batch])
            if not rows:
                return total
            by_visitor: dict[str, list[int]] = {}
            for pk, visitor in rows:
                by_visitor.setdefault(visitor, []).append(pk)
            for visitor, pks in by_visitor.items():
                anonymous = hashlib.sha256(salt + visitor.encode()).hexdigest()[:16]
                Event.objects.filter(pk__in=pks).update(subscriber=None, visitor=anonymous)
        total += len(rows)
