"""The one way a message leaves: sign it (DKIM, when configured) and hand it to an SMTP
session. Campaign batches, test sends and the double opt-in confirmation all call
``message_deliver``, so every message is signed the same way and every refusal is
classified the same way (``DeliveryError``: permanent or not, about the recipient or not).
"""

from __future__ import annotations

import time
from email.utils import parseaddr
from typing import TYPE_CHECKING

from django.conf import settings

from mailer.sending.smtp import Accepted, SmtpSession
from mailer.signing.dkim_sign import dkim_key, dkim_sign

if TYPE_CHECKING:
    from mailer.sending.connections import Timings


def signing_on() -> bool:
    """True when messages are DKIM-signed. Raises ConfigError for an unusable key."""
    return dkim_key() is not None


def message_deliver(session: SmtpSession, envelope_from: str, recipient: str, data: bytes, *,
                    stuffed: bool = False, timings: Timings | None = None) -> Accepted:
    """Sign ``data`` (a whole message, CRLF line ends) and deliver it; raises
    ``DeliveryError``. ``stuffed`` says ``data`` is already dot-stuffed for SMTP, which
    only an unsigned message may be: DKIM signs the message as the recipient sees it.
    ``timings.sign`` (if given) accumulates the seconds spent signing."""
    if signing_on():
        if stuffed:
            raise ValueError("a message to be signed must not be dot-stuffed yet")
        started = time.perf_counter()
        data = dkim_sign(data)
        if timings is not None:
            timings.sign += time.perf_counter() - started
    return session.deliver(envelope_from, recipient, data, stuffed=stuffed)


def sender_address() -> str:
    """The envelope sender of mail that is not a campaign (no VERP): DEFAULT_FROM_EMAIL."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
