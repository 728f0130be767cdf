"""What is checked before a send claims its first row (issue 13, item 2).

Starting a send — from the web, the API, the CLI or the scheduler — first checks what
can be checked without sending anything: the route is usable, Redis answers when a
rate limit needs it, the DKIM key parses, the issue (and its layout) compiles. A
problem refuses the start with the reason; the send stays as it was (a draft, or
scheduled and retried every minute) and nothing is planned.
"""

from __future__ import annotations

from django.conf import settings

from mailer.env import ConfigError
from mailer.issues.models import IssueVariant
from mailer.issues.services import variant_compiled
from mailer.rendering import RenderError
from mailer.sending.models import Send
from mailer.sending.planning import PlanError
from mailer.sending.routes import route_for, route_rates_need_redis
from mailer.signing.dkim_sign import dkim_key


class PreflightRefused(PlanError):
    """The send cannot start now; the message names the problem and the fix."""


def send_preflight(send: Send) -> None:
    """Raise ``PreflightRefused`` naming the first problem that would stop ``send``."""
    try:
        route = route_for(send)
        route_rates_need_redis(route)
        if route.rate > 0 or settings.SEND_DOMAIN_RATES:
            _redis_answers()
        dkim_key()
    except ConfigError as exc:
        raise PreflightRefused(str(exc)) from None
    for variant in IssueVariant.objects.filter(issue_id=send.issue_id):
        try:
            variant_compiled(variant)
        except RenderError as exc:
            raise PreflightRefused(f"the {variant.language!r} version of the issue cannot be "
                                   f"rendered ({exc}); fix the issue or its layout") from None


def _redis_answers() -> None:
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3,
                             socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise ConfigError(f"Redis (REDIS_URL), which holds the shared rate limits, does not "
                          f"answer ({exc}); start it or fix REDIS_URL") from None
