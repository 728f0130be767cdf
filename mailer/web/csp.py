"""Content Security Policy for every response (issue 10, item 4).

Two policies:

- ``STAFF_POLICY`` for the app's own pages (staff app, admin, API docs, subscriber
  pages): scripts only from our origin or inline with this response's nonce
  (``{{ request.csp_nonce }}``), so an injected ``<script>`` or ``on…=`` attribute does
  not run; no plugins, no ``<base>``, forms post only to us, framed only by us.
  Inline styles stay allowed: the pages and the emails use ``style=`` throughout, and
  CSS cannot run script in the browsers the staff use.
- ``EMAIL_POLICY`` for compiled email served as a page (the public web version under
  ``/archive/`` and the staff preview frame): a sandbox without ``allow-scripts`` and
  without ``allow-same-origin``, so even markup that got past every check runs nothing
  and cannot reach the staff app's cookies or pages; images and inline styles only.

A view that sets its own ``Content-Security-Policy`` keeps it (``email_document``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

EMAIL_POLICY = "; ".join([
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation",
    "default-src 'none'",
    "img-src https: http: data:",
    "style-src 'unsafe-inline'",
    "font-src https:",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
])


def staff_policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' https: http: data:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


class ContentSecurityPolicyMiddleware:
    """Gives each request a fresh nonce and each response the staff policy, unless the
    view already chose a policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = staff_policy(nonce)
        return response


def email_document(html: str, *, status: int = 200) -> HttpResponse:
    """A compiled email as a page, under ``EMAIL_POLICY``."""
    response = HttpResponse(html, status=status)
    response[HEADER] = EMAIL_POLICY
    return response
