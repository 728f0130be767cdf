"""Inbound SMTP of the bounce domain: bounces and complaints to ``bounces+…@BOUNCE_DOMAIN``,
mail unsubscribes to ``unsubscribe+…@BOUNCE_DOMAIN`` (the List-Unsubscribe mailto).

Runs behind the MX of the bounce domain (or receives from the MTA by LMTP/SMTP
relay). Reports are processed after the message is accepted; a failure to
process never makes the remote MTA retry forever.
"""

from __future__ import annotations

import logging

from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from mailer.bounces.processing import Outcome, inbound_process
from mailer.sending.verp import UNSUBSCRIBE_PREFIX, VERP_PREFIX

log = logging.getLogger(__name__)


class BounceHandler:
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        local, _, domain = address.rpartition("@")
        if (domain.lower() != settings.BOUNCE_DOMAIN.lower()
                or not local.lower().startswith((VERP_PREFIX, UNSUBSCRIBE_PREFIX))):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            outcome = await sync_to_async(_process, thread_sensitive=True)(
                raw, list(envelope.rcpt_tos))
        except DatabaseError:
            log.exception("inbound from %s: database unavailable", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"  # RFC 3463: 4.3.0
        except Exception:
            # Any other failure is ours, not the sender's: answer with a real SMTP reply (the
            # remote MTA would otherwise see "500" and retry a message that fails the same).
            log.exception("inbound from %s: not processed", envelope.mail_from)
            return "554 5.6.0 Message could not be processed; it was not kept"
        log.info("inbound from %s: %s", envelope.mail_from, outcome)
        return "250 2.0.0 Ok: processed"


def _process(raw: bytes, recipients: list[str]) -> Outcome:
    """One message on a fresh database connection, closed afterwards: inbound mail is
    rare, and a long-running server must neither reuse a connection the database has
    dropped nor hold one idle between messages."""
    close_old_connections()
    try:
        return inbound_process(raw, recipients)
    finally:
        connections.close_all()
