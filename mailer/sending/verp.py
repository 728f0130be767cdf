"""VERP return paths: ``bounces+<delivery>-<signature>@BOUNCE_DOMAIN``.

A bounce arrives at the envelope sender, so encoding the Delivery id there tells us
whose address failed even when the DSN is unparseable (Bernstein's VERP; Postfix
VERP_README). The id is signed, so a forged bounce cannot suppress someone else.
Lower-case base-36 and hex only: some MTAs fold local parts to lower case.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

VERP_PREFIX = "bounces"
SIGNATURE_CHARS = 12
VERP_LOCAL = re.compile(rf"^{VERP_PREFIX}\+([0-9a-z]+)-([0-9a-f]{{{SIGNATURE_CHARS}}})$")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(token: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"verp:{token}".encode(),
                    hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def verp_address(delivery_id: int) -> str:
    token = _b36(delivery_id)
    return f"{VERP_PREFIX}+{token}-{_signature(token)}@{settings.BOUNCE_DOMAIN}"


def verp_read(address: str) -> int | None:
    """The Delivery id named by a VERP address, or None if it is not ours or forged."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.BOUNCE_DOMAIN.lower():
        return None
    match = VERP_LOCAL.match(local.lower())
    if not match or not hmac.compare_digest(match.group(2), _signature(match.group(1))):
        return None
    return int(match.group(1), 36)
