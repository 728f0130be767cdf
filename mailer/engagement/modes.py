"""Tracking modes, ordered from most to least private.

Kept free of model imports so ``subscribers.models`` and ``mailer.sending.models`` can
use them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackingMode(models.TextChoices):
    OFF = "off", _("Off: no pixel, links go straight to their target")
    AGGREGATE = "aggregate", _("Aggregate: counts per issue and link, nothing stored per person")
    PER_PERSON = "per-person", _("Per person: who opened and clicked (for segments)")


# Lower is more private; the most private mode of several wins.
PRIVACY_RANK = {TrackingMode.OFF: 0, TrackingMode.AGGREGATE: 1, TrackingMode.PER_PERSON: 2}


def tracking_default() -> str:
    """The mode of a new list (``TRACKING_DEFAULT``); a callable so a migration does not
    freeze this machine's setting into the schema."""
    return str(settings.TRACKING_DEFAULT)


def most_private(modes: Iterable[str]) -> str:
    """The most private of ``modes``; ``off`` when there are none (nothing to track by)."""
    ranked = [TrackingMode(m) for m in modes if m in TrackingMode.values]
    return min(ranked, key=PRIVACY_RANK.__getitem__).value if ranked else TrackingMode.OFF.value


def least_private(modes: Iterable[str]) -> str:
    ranked = [TrackingMode(m) for m in modes if m in TrackingMode.values]
    return max(ranked, key=PRIVACY_RANK.__getitem__).value if ranked else TrackingMode.OFF.value
