"""Report files filled in for a delivery (shared by the bounce tests)."""

from __future__ import annotations

from pathlib import Path

from mailer.sending.mime import message_id_for
from mailer.sending.models import Delivery
from mailer.sending.verp import verp_address

FIXTURES = Path(__file__).parent / "fixtures"
RCPT = "aigerim.bekova@partner-ngo.example.org"


def fixture(name: str, delivery: Delivery | None = None, *, verp: str | None = None,
            msgid: str | None = None) -> bytes:
    text = (FIXTURES / name).read_text()
    if delivery is not None:
        verp = verp or verp_address(delivery.pk)
        msgid = msgid or message_id_for(delivery.send_id, delivery.subscriber_id or 0)
    return (text.replace("{VERP}", verp or "bounces@news.example.org")
            .replace("{RCPT}", RCPT).replace("{MSGID}", msgid or "<x@elsewhere.example>")
            .replace("\n", "\r\n").encode())
