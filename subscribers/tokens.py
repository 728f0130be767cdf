"""Signed tokens in links and addresses of every email.

Tokens are HMAC-signed with SECRET_KEY (``django.core.signing``) and name both the
recipient and the list, so a token can neither be guessed nor moved to another
address (RFC 8058 §3.1). Each purpose has its own salt: an unsubscribe token is
not a preferences token.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "subscribers.unsubscribe.v1"
PREFERENCES_SALT = "subscribers.preferences.v1"


class BadToken(Exception):
    """The token was tampered with, truncated, or made for another purpose."""


class ExpiredToken(BadToken):
    """The token is authentic but older than its purpose allows."""


_signers: dict[tuple[str, str, tuple[str | bytes, ...]], signing.TimestampSigner] = {}


def _signer(salt: str) -> signing.TimestampSigner:
    """The signer ``signing.dumps`` would make, made once per salt and key: tokens are
    the same, and a send makes two per message (constructing the signer was half their
    cost)."""
    key = (salt, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    if (signer := _signers.get(key)) is None:
        signer = _signers[key] = signing.TimestampSigner(salt=salt)
    return signer


def unsubscribe_token(subscriber_id: int, list_id: int | None, send_id: int | None = None) -> str:
    """The one-click token of one email. With ``send_id`` it also names the send, so that
    unsubscribing leaves every list through which that issue reached the person."""
    payload = [subscriber_id, list_id or 0] + ([send_id] if send_id else [])
    # Not compressed: a few integers never shrink, and zlib cost ~35 us per token on the
    # send path (two tokens per message). Tokens made compressed still read the same.
    return _signer(UNSUBSCRIBE_SALT).sign_object(payload, compress=False)


def unsubscribe_token_scope(token: str, *, expired_ok: bool = False
                            ) -> tuple[int, int | None, int | None]:
    """Return (subscriber_id, list_id or None, send_id or None). Raises ExpiredToken after
    ``UNSUBSCRIBE_LINK_MAX_AGE_DAYS`` (generous: an old email's link keeps working for a
    year by default, yet a forwarded or leaked one does not open the person's page forever),
    BadToken if forged. ``expired_ok`` reads an authentic old token, for the page that offers
    to mail the person a fresh link."""
    max_age = None if expired_ok else settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS * 86400
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
        sub_id, list_id = int(payload[0]), int(payload[1])
        send_id = int(payload[2]) if len(payload) > 2 else 0
    except signing.SignatureExpired:
        raise ExpiredToken("expired unsubscribe token") from None
    except (signing.BadSignature, ValueError, TypeError, IndexError, KeyError):
        raise BadToken("invalid unsubscribe token") from None
    return sub_id, (list_id or None), (send_id or None)


def unsubscribe_token_read(token: str) -> tuple[int, int | None]:
    """Return (subscriber_id, list_id or None). Raises BadToken."""
    sub_id, list_id, _ = unsubscribe_token_scope(token)
    return sub_id, list_id


def preferences_token(subscriber_id: int) -> str:
    return _signer(PREFERENCES_SALT).sign_object(subscriber_id, compress=False)


def preferences_token_read(token: str, *, max_age_days: int = 365) -> int:
    try:
        return int(signing.loads(token, salt=PREFERENCES_SALT, max_age=max_age_days * 86400))
    except (signing.BadSignature, ValueError, TypeError):
        raise BadToken("invalid or expired preferences link") from None


CONFIRM_SALT = "subscribers.confirm.v1"
CONFIRM_MAX_AGE_DAYS = 7


def confirm_token(subscription_id: int, subscriber_email_hash: str,
                  consent_id: int | None = None) -> str:
    """Double opt-in link. Carries the address's hash so that the link dies if the
    subscription is later re-used for another address, and the id of the pending
    ``ConsentRecord``, which makes the link single-use; expires after a week."""
    payload: list[object] = [subscription_id, subscriber_email_hash[:16]]
    if consent_id:
        payload.append(consent_id)
    return signing.dumps(payload, salt=CONFIRM_SALT)


def confirm_token_read(token: str) -> tuple[int, str, int | None]:
    """Return (subscription_id, email hash prefix, consent record id or None for a link
    mailed before links were single-use). Raises BadToken (also when expired)."""
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE_DAYS * 86400)
        sub_id, digest = int(payload[0]), str(payload[1])
        consent_id = int(payload[2]) if len(payload) > 2 else None
    except (signing.BadSignature, ValueError, TypeError, IndexError, KeyError):
        raise BadToken("invalid or expired confirmation link") from None
    return sub_id, digest, consent_id
