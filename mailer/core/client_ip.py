"""The client's IP address, for rate limits and consent records.

``X-Forwarded-For`` is written by the client too, so it is only believed for the
hops our own proxies added: ``TRUSTED_PROXY_COUNT`` (0 = no proxy, use the socket
address). With N trusted proxies the client is the N-th address from the right.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote  # not through our proxies: the socket address is the client
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
