"""Failures about a send rather than one recipient (DESIGN.md, "Two kinds of failure").

A worker that meets one — the route, the DKIM key, the layout, Redis — never
records it against recipients: it hands back the rows it holds (not flagged
possibly duplicated: none of their messages reached a socket) and pauses the send
with a reason that says what happened, what was kept and what to do.
"""

from __future__ import annotations

import logging

import dkim

from mailer.env import ConfigError
from mailer.errors import SendFault
from mailer.rendering import RenderError
from mailer.sending.models import Send
from mailer.sending.state import send_transition

log = logging.getLogger(__name__)

# What the runner treats as a fault of the send when building, signing or pacing a
# message. Anything else escaping the send loop is paused on as "unexpected".
FAULTS: tuple[type[Exception], ...] = (SendFault, ConfigError, RenderError, dkim.DKIMException)


def fault_from(exc: BaseException) -> SendFault:
    """The ``SendFault`` describing ``exc`` (one of FAULTS, or something unexpected)."""
    if isinstance(exc, SendFault):
        return exc
    if isinstance(exc, ConfigError):
        return SendFault(str(exc))
    if isinstance(exc, RenderError):
        return SendFault(f"the issue cannot be rendered ({exc}); fix the issue or its layout")
    if isinstance(exc, dkim.DKIMException):
        return SendFault(f"DKIM signing failed ({type(exc).__name__}: {exc}); check the key "
                         "at DKIM_PRIVATE_KEY_PATH, DKIM_SELECTOR and DKIM_DOMAIN on the workers")
    return SendFault(f"a worker met an unexpected error ({type(exc).__name__}: {exc}); the "
                     "worker log has the details")


def send_pause_for_fault(send_id: int, fault: SendFault) -> bool:
    """Pause the send saying why; True if this call paused it (False: it was no longer
    sending, e.g. another worker paused it first or staff cancelled it)."""
    reason = (f"paused: {fault.reason}. No recipient was marked failed or possibly "
              "duplicated: everyone not yet sent is kept and gets the issue once you resume "
              "the send after the fix.")
    paused = send_transition(send_id, Send.Status.PAUSED, reason=reason)
    if paused:
        log.error("send %s %s", send_id, reason)
    return paused
