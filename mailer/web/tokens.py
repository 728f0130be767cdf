"""API tokens: shown once at creation, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from mailer.web.models import ApiToken

TOKEN_PREFIX = "nlt_"  # noqa: S105  # a public marker, not a secret


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(user: Any, *, name: str) -> str:
    """A new token for ``user``; returns the secret, which is not stored and cannot be shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=secret[:10], digest=_digest(secret))
    return secret


def token_user(secret: str) -> Any | None:
    """The active user a token belongs to, or None for an unknown or revoked token."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(digest=_digest(secret), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def token_revoke(user: Any, token_id: int) -> bool:
    return ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()) == 1
