"""Global send rate limits: a Redis token bucket per SMTP route (and per domain).

Celery's ``rate_limit`` is per worker process; a relay's limit is for all of us
together (DESIGN.md invariant 7), so the bucket lives in Redis and one Lua script
refills and takes a token atomically. Time comes from Redis's own clock, so
workers on machines with skewed clocks share one notion of "now".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings

from mailer.env import ConfigError
from mailer.errors import SendFault

log = logging.getLogger(__name__)

BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local want = tonumber(ARGV[3]) or 1
local granted = 0
local wait = 0
if tokens >= 1 then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, wait}
"""


@cache
def _script() -> Any:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(BUCKET_SCRIPT)


# A Redis restart (or failover) pauses sending instead of failing the batch: the
# worker holds its claimed rows and asks again for this long before giving up.
REDIS_OUTAGE_PATIENCE_SECONDS = 60.0


def token_take(key: str, rate: float, burst: float | None = None) -> float:
    """Take one token from bucket ``key``; returns 0 if granted, else seconds to wait
    before asking again (nothing was taken). Waits out a short Redis outage; raises a
    transient ``SendFault`` when it lasts longer than REDIS_OUTAGE_PATIENCE_SECONDS."""
    granted, wait = tokens_take(key, rate, 1, burst)
    return 0.0 if granted else wait


def tokens_take(key: str, rate: float, want: int, burst: float | None = None,
                ) -> tuple[int, float]:
    """Take up to ``want`` tokens from bucket ``key`` in one round trip: (tokens granted,
    0) when at least one was there, else (0, seconds to wait before asking again).
    Redis outages as in ``token_take``."""
    import redis

    burst = burst if burst is not None else max(1.0, rate)
    deadline = time.monotonic() + REDIS_OUTAGE_PATIENCE_SECONDS
    pause = 0.25
    while True:
        try:
            granted, wait_ms = _script()(keys=[key], args=[rate, burst, want])
            return int(granted), int(wait_ms) / 1000.0
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if time.monotonic() + pause > deadline:
                raise SendFault(
                    f"Redis (REDIS_URL), which holds the shared rate limits, has been unreachable "
                    f"for over {REDIS_OUTAGE_PATIENCE_SECONDS:.0f} s ({exc}); start Redis or fix "
                    "REDIS_URL on the workers", transient=True) from None
            log.warning("rate limit: Redis unreachable (%s); asking again in %.2f s", exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


# A block holds at most this many seconds' worth of a bucket's rate: tokens a worker
# holds but has not used yet are a burst the other workers cannot have.
TOKEN_BLOCK_SECONDS = 0.1


class TokenBlocks:
    """The tokens one worker process took from Redis and has not used yet, per bucket.

    A worker with N connections asks Redis for up to N tokens at a time (never more
    than TOKEN_BLOCK_SECONDS of the rate), so the shared limit costs one round trip per
    block instead of one per message. Tokens left when the batch ends are not given back:
    the route runs a little under its limit, never over it."""

    def __init__(self, block: int):
        self.block = max(1, block)
        self.held: dict[str, int] = {}

    def take(self, key: str, rate: float) -> float:
        """0 if a token is granted (from the block held, else a new block), else seconds
        to wait before asking again."""
        if self.held.get(key, 0) > 0:
            self.held[key] -= 1
            return 0.0
        want = max(1, min(self.block, int(rate * TOKEN_BLOCK_SECONDS)))
        granted, wait = tokens_take(key, rate, want)
        if granted:
            self.held[key] = granted - 1
            return 0.0
        return wait


def route_bucket_key(route_label: str) -> str:
    return f"nl:rate:route:{route_label}"


def token_debt(key: str, tokens: float) -> None:
    """Take ``tokens`` from bucket ``key`` beyond what it holds, so that every worker
    sharing the bucket waits until they are refilled: how a deferral slows the whole
    route down, not just the worker that met it. Best effort: a Redis error is logged."""
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        if client.exists(key):  # a bucket that has expired is full anyway; leave it be
            client.hincrbyfloat(key, "tokens", -tokens)
    except redis.RedisError as exc:
        log.warning("rate limit: could not slow down %s (%s)", key, exc)


def rate_limit_wait(route_label: str, recipient: str, *, rate: float | None = None,
                    rate_origin: str = "SEND_RATE_PER_SECOND",
                    blocks: TokenBlocks | None = None,
                    waiting: Callable[[], None] | None = None) -> float:
    """Block until the route's (and the recipient domain's) bucket grants a message.
    ``rate`` is the route's limit (default SEND_RATE_PER_SECOND; 0 = none) and
    ``rate_origin`` says where it was set, for the error when Redis is not configured.
    With ``blocks``, tokens come from Redis a block at a time (see ``TokenBlocks``).
    ``waiting`` is called after each sleep (a slow route is waiting, not stuck).
    Returns seconds slept. A no-op when no limit is configured."""
    slept = 0.0
    rate = settings.SEND_RATE_PER_SECOND if rate is None else rate
    buckets: list[tuple[str, float, str]] = []
    if rate > 0:
        buckets.append((route_bucket_key(route_label), rate, rate_origin))
    domain = recipient.rpartition("@")[2].lower()
    domain_rate = settings.SEND_DOMAIN_RATES.get(domain)
    if domain_rate:
        buckets.append((f"nl:rate:domain:{domain}", domain_rate, "SEND_DOMAIN_RATES"))
    for key, r, origin in buckets:
        if not settings.REDIS_URL:
            raise ConfigError(rate_without_redis(origin, r))
        while (wait := (blocks.take(key, r) if blocks else token_take(key, r))) > 0:
            time.sleep(wait)
            slept += wait
            if waiting is not None:
                waiting()
    return slept


def rate_without_redis(origin: str, rate: float) -> str:
    return (f"{origin} limits sending to {rate:g} messages/s, but REDIS_URL is empty and the "
            "limit is shared between workers through Redis; set REDIS_URL to "
            "redis://HOST:6379/0 on the workers, or remove the limit")


# A relay that defers (4xx) or drops connections is asking us to slow down. The first
# deferral waits this long before the next message, each further one in a row doubles
# it up to the maximum; each accepted message halves it. Short on purpose: the
# deferred messages themselves wait minutes (``retry_delay``), this only stops a
# worker from hammering a relay that is shedding load.
DEFERRAL_BACKOFF_FIRST_SECONDS = 0.5
DEFERRAL_BACKOFF_MAX_SECONDS = 2.0


class DeferralBackoff:
    """The adaptive pace of one worker on one route: ``pause`` before each message,
    ``deferred`` after a 4xx or a dropped connection, ``accepted`` after a 2xx."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.not_before = 0.0  # time.monotonic() of the earliest next message

    def deferred(self) -> float:
        """Back off; returns the wait (jittered +-25 %) before the next message."""
        self.delay = min(max(self.delay * 2, DEFERRAL_BACKOFF_FIRST_SECONDS),
                         DEFERRAL_BACKOFF_MAX_SECONDS)
        wait = self.delay * random.uniform(0.75, 1.25)
        self.not_before = time.monotonic() + wait
        return wait

    def accepted(self) -> None:
        self.delay = self.delay / 2 if self.delay >= DEFERRAL_BACKOFF_FIRST_SECONDS / 4 else 0.0

    def pause(self) -> float:
        """Sleep until the next message may go; returns seconds slept."""
        wait = self.not_before - time.monotonic()
        if wait <= 0:
            return 0.0
        time.sleep(wait)
        return wait
