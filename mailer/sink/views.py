"""The demo's mailbox: every message the local SMTP sink received, shown as delivered.

Staff-only unless SINK_PAGES_PUBLIC=1 is set on purpose (the demo script sets it: its
embedded sink only ever holds demo mail); DEBUG alone no longer opens it (issue 10).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from mailer.sink.store import message_get, message_load, messages_list


def sink_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    staff_view = staff_member_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.SINK_PAGES_PUBLIC:
            return view(request, *args, **kwargs)
        return staff_view(request, *args, **kwargs)

    return wrapper


INBOX_PAGE_SIZE = 50


@sink_access
def inbox(request: HttpRequest) -> HttpResponse:
    """Newest first, a page at a time: only the page's messages are parsed."""
    page = Paginator(messages_list(limit=None), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    mails = [message_load(p) for p in page.object_list]
    # "mails", not "messages": that name belongs to the flash messages of the site layout.
    return render(request, "sink/inbox.html", {"mails": mails, "page": page,
                                               "total": page.paginator.count})


@sink_access
def message_detail(request: HttpRequest, key: str) -> HttpResponse:
    msg = message_get(key)
    if msg is None:
        raise Http404("no such message")
    headers = [(k, str(v)) for k, v in msg.message.items()]
    return render(request, "sink/message.html", {"m": msg, "headers": headers,
                                                 "text": msg.body("plain")})


@sink_access
@xframe_options_sameorigin
def message_html(request: HttpRequest, key: str) -> HttpResponse:
    msg = message_get(key)
    if msg is None:
        raise Http404("no such message")
    response = HttpResponse(msg.body("html"), content_type="text/html; charset=utf-8")
    # The email is shown in an iframe with scripts, forms and same-origin access disabled.
    response["Content-Security-Policy"] = "sandbox allow-popups allow-popups-to-escape-sandbox"
    return response


@sink_access
def message_raw(request: HttpRequest, key: str) -> HttpResponse:
    msg = message_get(key)
    if msg is None:
        raise Http404("no such message")
    return HttpResponse(msg.path.read_bytes(), content_type="text/plain; charset=utf-8")
