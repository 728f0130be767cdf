"""Bearer-token authentication and the same capability checks as the staff app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer

from mailer.web.roles import Cap
from mailer.web.tokens import token_user


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; tokens are made on the account page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


def require(request: HttpRequest, cap: Cap) -> Any:
    """The authenticated user, or 403 if their role lacks ``cap``."""
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm(cap.value):
        raise HttpError(403, f"Your role does not allow this ({cap.value}).")
    return user
