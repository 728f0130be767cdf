"""The global rate limit is one Redis token bucket shared by every process."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from typing import Any

import pytest

from mailer.env import ConfigError, env_rates
from mailer.errors import SendFault
from mailer.sending import ratelimit
from mailer.sending.ratelimit import _script, rate_limit_wait, token_debt, token_take
from tests.sending.conftest import ROOT, PrivateRedis


@pytest.fixture
def bucket_redis(send_redis_url: str, settings: Any) -> str:
    settings.REDIS_URL = send_redis_url
    _script.cache_clear()
    yield send_redis_url
    _script.cache_clear()


def test_it_grants_a_burst_then_asks_the_caller_to_wait(bucket_redis: str) -> None:
    key = f"test:bucket:{uuid.uuid4().hex}"
    grants = [token_take(key, rate=5, burst=5) for _ in range(5)]
    assert grants == [0.0] * 5
    assert 0 < token_take(key, rate=5, burst=5) <= 0.2


def test_it_shares_the_bucket_with_another_process(bucket_redis: str) -> None:
    key = f"test:bucket:{uuid.uuid4().hex}"
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mailer.settings');"
            "django.setup();"
            "from mailer.sending.ratelimit import token_take;"
            f"[token_take({key!r}, rate=0.01, burst=3) for _ in range(3)]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=30,
                   env={"REDIS_URL": bucket_redis, "PATH": "/usr/bin:/bin"})
    # A slow refill (one token per 100 s) so that a slow subprocess start cannot refill it.
    assert token_take(key, rate=0.01, burst=3) > 0


def test_it_does_not_touch_redis_when_no_limit_is_set(settings: Any) -> None:
    settings.SEND_RATE_PER_SECOND = 0.0
    settings.REDIS_URL = ""
    _script.cache_clear()
    assert rate_limit_wait("smtp:25", "a@b.org") == 0.0


def test_it_waits_for_a_token_when_the_route_limit_is_reached(
        bucket_redis: str, settings: Any) -> None:
    settings.SEND_RATE_PER_SECOND = 20.0
    route = f"route-{uuid.uuid4().hex}"
    slept = sum(rate_limit_wait(route, f"r{i}@x.org") for i in range(22))
    assert slept > 0


def test_it_applies_a_per_domain_limit(bucket_redis: str, settings: Any) -> None:
    domain = f"{uuid.uuid4().hex}.example"
    settings.SEND_DOMAIN_RATES = {domain: 10.0}
    slept = sum(rate_limit_wait("r", f"u{i}@{domain}") for i in range(11))
    assert slept > 0


def test_it_reads_per_domain_limits_from_the_environment_format(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEND_DOMAIN_RATES", "Gmail.com=20, yahoo.com=2.5")
    assert env_rates("SEND_DOMAIN_RATES") == {"gmail.com": 20.0, "yahoo.com": 2.5}


def test_it_refuses_a_malformed_per_domain_limit_at_start_up() -> None:
    """Parsed once with the settings: a worker or web process with a malformed value
    does not start, instead of failing on every message of every send."""
    env = {"SEND_DOMAIN_RATES": "gmail.com=fast", "PATH": "/usr/bin:/bin",
           "DJANGO_SETTINGS_MODULE": "mailer.settings"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SEND_DOMAIN_RATES item 'gmail.com=fast' is not DOMAIN=RATE" in done.stderr


def test_it_names_the_route_whose_rate_needs_redis(settings: Any) -> None:
    settings.REDIS_URL = ""
    with pytest.raises(ConfigError) as refused:
        rate_limit_wait("route:partners", "a@b.org", rate=5.0,
                        rate_origin="SMTP route 'partners'")
    assert str(refused.value).startswith("SMTP route 'partners' limits sending to 5 messages/s")
    assert "SEND_RATE_PER_SECOND" not in str(refused.value)
    assert "set REDIS_URL" in str(refused.value)


def test_it_waits_out_a_redis_restart_instead_of_failing(
        private_redis: PrivateRedis, settings: Any) -> None:
    settings.REDIS_URL = private_redis.url
    _script.cache_clear()
    key = f"test:bucket:{uuid.uuid4().hex}"
    assert token_take(key, rate=100) == 0.0
    private_redis.kill()
    back = threading.Timer(1.0, private_redis.start)
    back.start()
    try:
        assert token_take(key, rate=100) == 0.0  # asked again until Redis was back
    finally:
        back.join()
        _script.cache_clear()
    assert private_redis.keys() == 1  # the bucket now lives in the restarted server


def test_it_gives_up_when_redis_stays_away(
        private_redis: PrivateRedis, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "REDIS_OUTAGE_PATIENCE_SECONDS", 0.5)
    settings.REDIS_URL = private_redis.url
    _script.cache_clear()
    private_redis.kill()
    try:
        with pytest.raises(SendFault, match=r"Redis .* unreachable") as fault:
            token_take(f"test:bucket:{uuid.uuid4().hex}", rate=100)
        assert fault.value.transient
    finally:
        _script.cache_clear()


def test_a_deferral_slows_every_worker_on_the_route_down(bucket_redis: str) -> None:
    """The debt lives in the shared bucket: another process asking next has to wait."""
    key = f"test:bucket:{uuid.uuid4().hex}"
    assert token_take(key, rate=10, burst=10) == 0.0
    token_debt(key, 20.0)  # two seconds' worth of tokens at 10/s
    assert token_take(key, rate=10, burst=10) > 1.0


def test_a_worker_takes_tokens_in_blocks_from_one_round_trip(bucket_redis: str) -> None:
    import redis

    from mailer.sending.ratelimit import TokenBlocks

    key = f"test:bucket:{uuid.uuid4().hex}"
    blocks = TokenBlocks(4)
    assert [blocks.take(key, rate=100) for _ in range(4)] == [0.0] * 4
    left = float(redis.Redis.from_url(bucket_redis).hget(key, "tokens") or 0)
    assert 95.9 <= left <= 97  # one block of 4 taken from a full bucket of 100 (+ refill)
    assert blocks.held[key] == 0


def test_a_block_is_never_more_than_the_bucket_holds(bucket_redis: str) -> None:
    from mailer.sending.ratelimit import tokens_take

    key = f"test:bucket:{uuid.uuid4().hex}"
    assert tokens_take(key, rate=0.01, want=5, burst=3) == (3, 0.0)
    granted, wait = tokens_take(key, rate=0.01, want=5, burst=3)
    assert granted == 0 and wait > 60
