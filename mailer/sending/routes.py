"""Which SMTP route a send goes through, and the rate limit that applies to it.

A send names a ``Route`` (an Admin manages them in the admin) or none, which means
the default route from ``SMTP_URL``. Each route has its own token bucket in Redis,
shared by every worker sending through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from mailer.env import ConfigError, SmtpRoute
from mailer.sending.models import Send
from mailer.sending.ratelimit import rate_without_redis


@dataclass(frozen=True)
class ChosenRoute:
    config: SmtpRoute
    bucket: str  # name of the route's rate-limit bucket
    rate: float  # messages/second for all workers together; 0 = unlimited
    rate_origin: str = "SEND_RATE_PER_SECOND"  # where the rate was set, for error messages


def route_for(send: Send) -> ChosenRoute:
    """The send's route; ConfigError (naming the route and what is wrong) if it cannot
    be used now — switched off, a bad URL, or its password variable unset."""
    default_rate = settings.SEND_RATE_PER_SECOND
    route = send.smtp_route
    if route is None:
        return ChosenRoute(settings.SMTP_ROUTE, settings.SMTP_ROUTE.label, default_rate)
    if not route.is_active:
        raise ConfigError(f"SMTP route {route.name!r} is switched off; switch it on in the "
                          "admin (SMTP routes), then resume the send")
    if route.rate_per_second:
        return ChosenRoute(route.config(), f"route:{route.name}", route.rate_per_second,
                           f"SMTP route {route.name!r}")
    return ChosenRoute(route.config(), f"route:{route.name}", default_rate)


def route_rates_need_redis(route: ChosenRoute) -> None:
    """ConfigError when the route's rate (or a per-domain rate) is set but there is no
    Redis to share it through; checked before any row is claimed."""
    if settings.REDIS_URL:
        return
    if route.rate > 0:
        raise ConfigError(rate_without_redis(route.rate_origin, route.rate))
    if settings.SEND_DOMAIN_RATES:
        raise ConfigError(rate_without_redis("SEND_DOMAIN_RATES",
                                             max(settings.SEND_DOMAIN_RATES.values())))
