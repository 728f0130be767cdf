"""What the staff app does to a send: start or schedule it, pause, resume, cancel, approve.

Status changes and the approval rule live in the sending layer (``approval.send_go``,
``control``); this module turns their refusals into messages staff can act on.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from mailer.sending import approval, control
from mailer.sending.models import Send
from mailer.sending.state import TransitionRefused
from mailer.web.models import SendApproval

S = Send.Status


class ControlRefused(Exception):
    """The action is not possible now; the message says why and what to do."""


def send_confirm(send: Send, *, user: Any, recipients: int) -> str:
    """The user typed the right count: the sending layer's ``send_go`` starts, schedules or
    holds the send for approval. Returns "approval" or the new status."""
    try:
        return approval.send_go(send, user=user, recipients=recipients)
    except approval.SendRefused as exc:
        raise ControlRefused(str(exc)) from None


def send_approve(send: Send, *, user: Any) -> str:
    """A second person (an Admin, not the requester) approves; the send then goes."""
    try:
        return approval.send_approve(send, user=user)
    except approval.SendRefused as exc:
        raise ControlRefused(str(exc)) from None


def awaiting_approval(send: Send) -> SendApproval | None:
    found: SendApproval | None = approval.awaiting_approval(send)
    return found


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
