"""The one place that changes ``Send.status``.

Every change is a conditional UPDATE (``WHERE status IN (<allowed sources>)``), so
when two processes race — a worker finishing a send while staff cancel it — the
row count says who won and the loser sees ``False`` instead of overwriting.
"""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from mailer.errors import MailerError
from mailer.sending.models import Send

S = Send.Status

# target status -> statuses it may be reached from
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.DRAFT}),
    S.PLANNING: frozenset({S.DRAFT, S.SCHEDULED}),
    # done -> sending only through retry-failed, which reopens a finished send.
    S.SENDING: frozenset({S.PLANNING, S.PAUSED, S.DONE}),
    S.PAUSED: frozenset({S.SENDING}),
    S.DONE: frozenset({S.SENDING}),
    S.CANCELLED: frozenset({S.DRAFT, S.SCHEDULED, S.PLANNING, S.SENDING, S.PAUSED}),
    S.FAILED: frozenset({S.DRAFT, S.SCHEDULED, S.PLANNING, S.SENDING, S.PAUSED}),
}
FINAL = frozenset({S.DONE, S.CANCELLED, S.FAILED})


class TransitionRefused(MailerError):
    """The send is not in a status from which the requested change is allowed."""


def send_transition(send_id: int, to: str, *, reason: str = "",
                    only_from: frozenset[str] | None = None) -> bool:
    """Move send ``send_id`` to ``to`` if its current status allows it.

    Returns True if this call made the change, False if the send was in a status
    that does not lead to ``to`` (someone else changed it first). ``only_from``
    narrows the allowed sources further (e.g. resume only from paused).
    Raises ``ValueError`` for a target that is not a status.
    """
    if to not in TRANSITIONS:
        raise ValueError(f"{to!r} is not a status a send can be moved to")
    sources = TRANSITIONS[to] if only_from is None else TRANSITIONS[to] & only_from
    now = timezone.now()
    changes: dict[str, object] = {"status": to, "status_reason": reason, "updated_at": now}
    if to == S.SENDING:
        # started_at keeps the first start; a resume does not reset it.
        changes["started_at"] = Coalesce(F("started_at"), now)
    if to in FINAL:
        changes["finished_at"] = now
    updated = Send.objects.filter(pk=send_id, status__in=sources).update(**changes)
    return updated == 1


def send_transition_or_raise(send_id: int, to: str, *, reason: str = "") -> None:
    """As ``send_transition``, but a refused change raises ``TransitionRefused`` naming
    the current status (for commands and views, which must tell the user why)."""
    if not send_transition(send_id, to, reason=reason):
        current = Send.objects.filter(pk=send_id).values_list("status", flat=True).first()
        if current is None:
            raise TransitionRefused(f"send {send_id} does not exist")
        raise TransitionRefused(f"send {send_id} is {current}; it cannot become {to}")


def send_reason_note(send_id: int, reason: str) -> bool:
    """Record why a send that has not started is waiting (e.g. refused by preflight),
    without changing its status. Only a draft or scheduled send takes a note."""
    return Send.objects.filter(pk=send_id, status__in=(S.DRAFT, S.SCHEDULED)).update(
        status_reason=reason, updated_at=timezone.now()) == 1
