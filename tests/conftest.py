"""Shared fixtures. Service-backed tests read their addresses from the environment:

- DATABASE_URL picks the database of the whole run (SQLite default, PostgreSQL in CI);
- REDIS_URL (default redis://127.0.0.1:6379/15) for tests that need Redis;
- REQUIRE_SERVICES=1 turns "service not running -> skip" into a failure (CI sets it).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from hypothesis import settings as hypothesis_settings

# Property-based tests explore freely on a developer's machine and repeat exactly in CI
# (CI=true), so a red CI run is a real finding that reruns the same way (issue 10).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    hypothesis_settings.load_profile("ci")

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _reachable(REDIS_URL, 6379):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable at {REDIS_URL} and REQUIRE_SERVICES=1")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def on_postgres(settings: object) -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def default_language() -> object:
    """Each test starts in the default language. The test client runs views in this thread,
    and LocaleMiddleware leaves the last request's language active, so one test's Russian
    page would otherwise make the next test's messages Russian."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
