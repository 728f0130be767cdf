"""Signed per-delivery tokens of the open pixel and the click links.

``SEND.DELIVERY.MODE.BUILT.SIG``: the send, the delivery, the person's tracking mode
(``a`` aggregate, ``p`` per-person), when the message was built (base 36 seconds; the
machine rule compares a click's time with it) and an HMAC-SHA256 over all of it, keyed
from ``SECRET_KEY``. A token from another installation, another delivery or with any
character changed fails the check; the link id next to it is not signed, because the
link table only ever leads to URLs of the token's issue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from mailer.engagement.modes import TrackingMode

MODE_CODES = {TrackingMode.AGGREGATE.value: "a", TrackingMode.PER_PERSON.value: "p"}
CODE_MODES = {v: k for k, v in MODE_CODES.items()}


@dataclass(frozen=True)
class TrackingToken:
    send_id: int
    delivery_id: int
    mode: str
    built_at: datetime


def _key() -> bytes:
    return hashlib.sha256(b"engagement-token:" + settings.SECRET_KEY.encode()).digest()


def _sig(body: str, key: bytes | None = None) -> str:
    mac = hmac.new(key or _key(), body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def tracking_token(send_id: int, delivery_id: int, mode: str, built_at: datetime, *,
                   key: bytes | None = None) -> str:
    """``key``: ``token_key()`` computed once by a caller that signs many tokens."""
    body = f"{send_id}.{delivery_id}.{MODE_CODES[mode]}.{_b36(int(built_at.timestamp()))}"
    return f"{body}.{_sig(body, key)}"


def token_key() -> bytes:
    return _key()


def tracking_token_read(token: str) -> TrackingToken | None:
    """The token's contents, or None if it is malformed or its signature does not match."""
    parts = token.split(".")
    if len(parts) != 5:
        return None
    body, sig = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_sig(body), sig):
        return None
    send, delivery, mode, built = parts[:4]
    if mode not in CODE_MODES or not send.isdigit() or not delivery.isdigit():
        return None
    try:
        at = datetime.fromtimestamp(int(built, 36), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return TrackingToken(int(send), int(delivery), CODE_MODES[mode], at)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def visitor_key(send_id: int, delivery_id: int) -> str:
    """Counts one message once; cannot be turned back into a delivery without the key."""
    return hmac.new(_key(), f"visitor:{send_id}:{delivery_id}".encode(),
                    hashlib.sha256).hexdigest()[:16]
