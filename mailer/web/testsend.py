"""Test sends: the saved variant, merged for the sender, mailed only to named addresses.

Built with the sending team's ``MessageTemplate`` and delivered by
``outbound.message_deliver`` (DKIM-signed like campaign mail), so a test message is
byte-for-byte what a subscriber gets, except the "[TEST]" subject prefix, the staff
member's own merge values and inert unsubscribe links. A suppressed address (bounced,
complained, unsubscribed everywhere) is not mailed, not even a test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from mailer.env import ConfigError
from mailer.issues.models import IssueVariant
from mailer.issues.services import variant_compiled, web_version_link
from mailer.sending.mime import MessageTemplate, Recipient
from mailer.sending.outbound import message_deliver, sender_address
from mailer.sending.smtp import DeliveryError, SmtpSession
from subscribers.services import InvalidAddress, email_normalise, is_suppressed

TEST_SEND_ID = 0  # Message-IDs of tests never collide with a real send's (ids start at 1)
SUPPRESSED_REPLY = ("not sent: the address is on the suppression list (it bounced, "
                    "complained or unsubscribed); remove the suppression in the admin first")


@dataclass
class TestSendReport:
    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def variant_test_send(variant: IssueVariant, addresses: list[str], *,
                      sender_name: str = "") -> TestSendReport:
    """Send the saved ``variant`` to each address. Raises ``RenderError`` if it cannot render."""
    compiled = variant_compiled(variant)
    template = MessageTemplate(
        send_id=TEST_SEND_ID, feedback_campaign="test",
        subject=f"[TEST] {compiled.subject or variant.subject}", from_name=variant.from_name,
        text_parts=compiled.text.parts, html_parts=compiled.html.parts,
        reply_to=variant.compiled_reply_to)
    site = settings.SITE_URL.rstrip("/")
    report = TestSendReport()
    session = SmtpSession(settings.SMTP_ROUTE)
    try:
        for i, address in enumerate(addresses, start=1):
            if _suppressed(address):
                report.refused.append((address, SUPPRESSED_REPLY))
                continue
            rcpt = Recipient(delivery_id=0, subscriber_id=-i, email=address, name=sender_name,
                             organisation="", list_id=None, list_slug="test")
            values = {"first_name": sender_name.split()[0] if sender_name.strip() else "",
                      "name": sender_name, "email": address, "organisation": "",
                      "unsubscribe_url": f"{site}/#test-unsubscribe",
                      "preferences_url": f"{site}/#test-preferences",
                      "web_url": web_version_link(variant.issue.slug, variant.language)}
            try:
                message_deliver(session, sender_address(), address,
                                template.build(rcpt, values).data)
            except (DeliveryError, ConfigError) as exc:  # refused; or an unusable DKIM key
                report.refused.append((address, str(exc)))
            else:
                report.accepted.append(address)
    finally:
        session.close()
    return report


def test_send_quota_take(user_id: int, count: int) -> bool:
    """Take ``count`` test messages from the user's hourly allowance (TEST_SEND_LIMIT_PER_HOUR,
    counted in the shared cache); False, taking nothing, when they would exceed it. Test
    sends go to any address typed in, so without a limit a staff account could mail anyone."""
    key = f"test-send:{user_id}:{int(time.time() // 3600)}"
    cache.add(key, 0, timeout=3600)
    if cache.get(key, 0) + count > settings.TEST_SEND_LIMIT_PER_HOUR:
        return False
    cache.incr(key, count)
    return True


def _suppressed(address: str) -> bool:
    try:
        return is_suppressed(email_normalise(address))
    except InvalidAddress:
        return False  # the relay will refuse it and say why
