"""What the staff app does to a send: start or schedule it, pause, resume, cancel, approve.

Status changes go through the sending team's functions (``planning``, ``control``);
this module adds the approval step and messages staff can act on.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailer.sending import control
from mailer.sending.models import Send
from mailer.sending.planning import send_schedule, send_start
from mailer.sending.state import TransitionRefused
from mailer.web.models import SendApproval
from mailer.web.wizard import approval_threshold

S = Send.Status


class ControlRefused(Exception):
    """The action is not possible now; the message says why and what to do."""


def send_go(send: Send) -> str:
    """Start the confirmed draft now, or schedule it if its time is in the future.
    Returns the resulting status. Raises ``PlanError`` if planning fails."""
    if send.scheduled_at and send.scheduled_at > timezone.now():
        if not send_schedule(send.pk):
            raise ControlRefused(_("This send is no longer a draft; it was started or cancelled."))
        return S.SCHEDULED
    if send_start(send.pk) is None:
        raise ControlRefused(_("This send is no longer a draft; it was started or cancelled."))
    return Send.objects.values_list("status", flat=True).get(pk=send.pk)


def send_confirm(send: Send, *, user: Any, recipients: int) -> str:
    """The user typed the right count: start, schedule, or ask for approval.
    Returns "approval" when an Admin must approve first, else the new status."""
    threshold = approval_threshold()
    if threshold and recipients > threshold:
        SendApproval.objects.get_or_create(send=send, defaults={
            "requested_by": user, "recipient_count": recipients})
        return "approval"
    return send_go(send)


def send_approve(send: Send, *, user: Any) -> str:
    """A second person (an Admin, not the requester) approves; the send then goes."""
    with transaction.atomic():
        approval = SendApproval.objects.select_for_update().filter(send=send).first()
        if approval is None or approval.approved_at is not None:
            raise ControlRefused(_("This send is not waiting for approval."))
        if approval.requested_by_id == user.pk:
            raise ControlRefused(_("You asked for this send; another Admin must approve it."))
        approval.approved_by, approval.approved_at = user, timezone.now()
        approval.save(update_fields=["approved_by", "approved_at"])
    return send_go(send)


def awaiting_approval(send: Send) -> SendApproval | None:
    approval = SendApproval.objects.filter(send=send).first()
    return approval if approval and approval.approved_at is None else None


def send_pause(send_id: int, *, by: str = "staff") -> None:
    try:
        control.send_pause(send_id, by=by)
    except TransitionRefused:
        raise ControlRefused(_("Only a send that is sending can be paused.")) from None


def send_resume(send_id: int, *, by: str = "staff") -> None:
    # ``by`` keeps the three controls interchangeable; a resume records no reason.
    try:
        control.send_resume(send_id)
    except TransitionRefused:
        raise ControlRefused(_("Only a paused send can be resumed.")) from None


def send_cancel(send_id: int, *, by: str = "staff") -> None:
    try:
        control.send_cancel(send_id, by=by)
    except TransitionRefused:
        raise ControlRefused(_("This send has already finished; there is nothing to cancel.")) from None
