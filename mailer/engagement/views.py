"""The open pixel and the click redirect: verify, record one row, answer at once."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mailer.core.client_ip import client_ip
from mailer.engagement.classify import actor_classify
from mailer.engagement.intake import click_target, hit_record
from mailer.engagement.models import Kind
from mailer.engagement.tokens import tracking_token_read

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _gif() -> HttpResponse:
    response = HttpResponse(GIF, content_type="image/gif")
    # Every load of the message asks again; nobody's cache hides a reader.
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """Always the image (a broken image helps nobody); recorded only for a valid token
    and a GET."""
    parsed = tracking_token_read(token)
    if parsed is not None and request.method == "GET":
        hit_record(parsed, Kind.OPEN, None,
                   actor_classify(Kind.OPEN, request.headers.get("User-Agent", ""),
                                  client_ip(request)))
    return _gif()


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str, link_id: int) -> HttpResponse:
    parsed = tracking_token_read(token)
    url = click_target(parsed.send_id, link_id) if parsed is not None else None
    if parsed is None or url is None:
        return render(request, "engagement/bad_link.html", {"message": _(
            "This link was changed on its way to you, or it does not belong to the newsletter "
            "it came in, so it leads nowhere. Open the newsletter again and use the link "
            "there, or find the article on our website.")}, status=404)
    if request.method == "GET":  # scanners check links with HEAD; that is no click
        hit_record(parsed, Kind.CLICK, link_id,
                   actor_classify(Kind.CLICK, request.headers.get("User-Agent", ""),
                                  client_ip(request)))
    return HttpResponseRedirect(url)


