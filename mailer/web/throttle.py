"""Login throttling against password guessing.

Failures are counted in Django's cache per (username, client IP) and per IP alone;
past the limit, logins from there are refused until the window ends, even with the
right password, so guessing gains nothing. A success clears the per-user counter.
The cache must be shared between web processes in production (Redis or database cache).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from mailer.core.client_ip import client_ip as core_client_ip


def _limits() -> tuple[int, int, int]:
    return (settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_LIMIT_PER_IP,
            settings.LOGIN_LOCKOUT_SECONDS)


def client_ip(request: HttpRequest) -> str:
    return core_client_ip(request) or "unknown"


def _keys(username: str, ip: str) -> tuple[str, str]:
    user_key = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()
    return f"login-fail:u:{user_key}", f"login-fail:ip:{ip}"


def login_locked(username: str, ip: str) -> bool:
    per_user, per_ip, _ = _limits()
    user_key, ip_key = _keys(username, ip)
    return cache.get(user_key, 0) >= per_user or cache.get(ip_key, 0) >= per_ip


def login_failed(username: str, ip: str) -> None:
    _, _, window = _limits()
    for key in _keys(username, ip):
        # add() starts the window on the first failure; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=window)


def login_succeeded(username: str, ip: str) -> None:
    cache.delete(_keys(username, ip)[0])


def lockout_minutes() -> int:
    return max(1, _limits()[2] // 60)
