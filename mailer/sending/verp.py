"""VERP return paths ``bounces+<delivery>-<signature>@BOUNCE_DOMAIN`` and mailto
unsubscribe addresses ``unsubscribe+<delivery>-<signature>@BOUNCE_DOMAIN``.

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
UNSUBSCRIBE_PREFIX = "unsubscribe"
SIGNATURE_CHARS = 12
VERP_LOCAL = re.compile(rf"^{VERP_PREFIX}\+([0-9a-z]+)-([0-9a-f]{{{SIGNATURE_CHARS}}})$")
UNSUBSCRIBE_LOCAL = re.compile(
    rf"^{UNSUBSCRIBE_PREFIX}\+([0-9a-z]+)-([0-9a-f]{{{SIGNATURE_CHARS}}})$")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(token: str, purpose: str = "verp") -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{token}".encode(),
                    hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def verp_address(delivery_id: int) -> str:
    token = _b36(delivery_id)
    return f"{VERP_PREFIX}+{token}-{_signature(token)}@{settings.BOUNCE_DOMAIN}"


def _signed_id(address: str, pattern: re.Pattern[str], purpose: str) -> int | None:
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.BOUNCE_DOMAIN.lower():
        return None
    match = pattern.match(local.lower())
    if not match or not hmac.compare_digest(match.group(2), _signature(match.group(1), purpose)):
        return None
    return int(match.group(1), 36)


def verp_read(address: str) -> int | None:
    """The Delivery id named by a VERP address, or None if it is not ours or forged."""
    return _signed_id(address, VERP_LOCAL, "verp")


def unsubscribe_address(delivery_id: int) -> str:
    """The ``mailto:`` unsubscribe address of one delivery (RFC 2369), signed with a
    purpose of its own: a bounce address cannot be turned into an unsubscribe."""
    token = _b36(delivery_id)
    return (f"{UNSUBSCRIBE_PREFIX}+{token}-{_signature(token, 'unsubscribe')}"
            f"@{settings.BOUNCE_DOMAIN}")


def unsubscribe_address_read(address: str) -> int | None:
    """The Delivery id named by a mailto unsubscribe address, or None if forged."""
    return _signed_id(address, UNSUBSCRIBE_LOCAL, "unsubscribe")
