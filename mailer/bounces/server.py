"""Inbound SMTP for bounces: accept mail for ``bounces+…@BOUNCE_DOMAIN`` and process it.

Runs behind the MX of the bounce domain (or receives from the MTA by LMTP/SMTP
relay). Reports are processed after the message is accepted; a failure to
process never makes the remote MTA retry forever.
"""

from __future__ import annotations

import logging

from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings

from mailer.bounces.processing import bounce_process

log = logging.getLogger(__name__)


class BounceHandler:
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        local, _, domain = address.rpartition("@")
        if domain.lower() != settings.BOUNCE_DOMAIN.lower() or not local.lower().startswith("bounces"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        outcome = await sync_to_async(bounce_process, thread_sensitive=True)(raw, list(envelope.rcpt_tos))
        log.info("bounce from %s: %s", envelope.mail_from, outcome)
        return "250 2.0.0 Ok: processed"
