"""Server-side permission checks for every staff view.

Anonymous users are sent to the login page; signed-in users without the capability
get 403. The API applies the same ``Cap`` checks (see ``mailer.api``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from mailer.web.roles import Cap

View = Callable[..., HttpResponseBase]


def capability_required(cap: Cap) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(cap.value):
                raise PermissionDenied(f"your role does not allow this ({cap.value})")
            return view(request, *args, **kwargs)

        wrapper.capability = cap  # type: ignore[attr-defined]  # read by the URL audit test
        return wrapper

    return decorator
