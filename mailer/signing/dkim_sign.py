"""DKIM signing of outgoing messages (RFC 6376), optional and off unless configured.

RFC 8058 §4 requires the signature to cover ``List-Unsubscribe`` and
``List-Unsubscribe-Post``, which dkimpy's default header set leaves out, so the
header list is ours. Headers that are present are signed; ``From`` is always signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
import dkim.crypto
from django.conf import settings

from mailer.env import ConfigError

SIGNED_HEADERS = (
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type",
    b"List-Unsubscribe", b"List-Unsubscribe-Post", b"List-Id", b"Feedback-ID",
)


@dataclass(frozen=True)
class DkimKey:
    selector: bytes
    domain: bytes
    private_key: bytes


@lru_cache(maxsize=1)
def dkim_key() -> DkimKey | None:
    """The configured key, or None when DKIM_PRIVATE_KEY_PATH is unset (signing off).

    Raises ConfigError when the file cannot be read or holds no PEM private key, so a
    worker refuses before it claims a row instead of failing on the first message.
    Only a good key is cached: a key fixed on disk is picked up on the next call."""
    path = settings.DKIM_PRIVATE_KEY_PATH
    if not path:
        return None
    try:
        private_key = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"the DKIM key at {path} (DKIM_PRIVATE_KEY_PATH) cannot be read "
                          f"({exc.strerror}); fix the file or the variable on the workers") from None
    try:
        dkim.crypto.parse_pem_private_key(private_key)
    except (dkim.crypto.UnparsableKeyError, ValueError, IndexError) as exc:
        raise ConfigError(f"the DKIM key at {path} (DKIM_PRIVATE_KEY_PATH) is not a PEM private "
                          f"key ({exc}); put a PEM RSA key there on the workers") from None
    return DkimKey(settings.DKIM_SELECTOR.encode(), settings.DKIM_DOMAIN.encode(), private_key)


def dkim_sign(message: bytes, key: DkimKey | None = None) -> bytes:
    """``message`` with a DKIM-Signature header prepended; unchanged if signing is off."""
    key = key or dkim_key()
    if key is None:
        return message
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    present = [h for h in SIGNED_HEADERS if b"\r\n" + h.lower() + b":" in b"\r\n" + head]
    signature = dkim.sign(message, key.selector, key.domain, key.private_key,
                          canonicalize=(b"relaxed", b"relaxed"), include_headers=present)
    return signature + message
