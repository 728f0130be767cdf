from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def thousands(value: object) -> str:
    """3412 -> "3,412" (grouped by the active language: "3 412" in Russian)."""
    try:
        return number_format(int(value), force_grouping=True)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


# Status words of issues, sends and deliveries, translated for the staff app (the models'
# own labels are English).
STATUS_LABELS = {
    "draft": _("Draft"), "ready": _("Ready"), "archived": _("Archived"),
    "scheduled": _("Scheduled"), "planning": _("Planning"), "sending": _("Sending"),
    "paused": _("Paused"), "done": _("Done"), "cancelled": _("Cancelled"), "failed": _("Failed"),
    "pending": _("Pending"), "retrying": _("Waiting to retry"), "sent": _("Sent"),
    "bounced": _("Bounced"), "skipped": _("Skipped"),
}


@register.filter
def status_label(value: object) -> str:
    """"done" -> "Done" in the active language; unknown values are shown as they are."""
    return str(STATUS_LABELS.get(str(value), value))


@register.filter
def percent(value: object) -> str:
    """0.1234 -> "12.3 %"; None (nothing to divide by) -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        return f"{number_format(float(value) * 100, decimal_pos=1)}\u00a0%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
