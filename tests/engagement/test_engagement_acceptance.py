"""Issue 11's check: a real send through a real worker and SMTP sink, then real HTTP
requests to the pixel and click links of the received messages."""

from __future__ import annotations

import email
import email.policy
import io
import json
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.management import call_command

from mailer.issues.models import Issue
from mailer.sending.models import Send
from mailer.sending.planning import send_create, send_start
from mailer.sink.server import SinkServer
from subscribers.models import MailingList
from tests.engagement.conftest import (
    CLICK_URL,
    PIXEL_URL,
    SCANNER,
    http_request,
)
from tests.sending.conftest import WorkerProcess, sink_read, subscribe, subscriber_make, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def received(sink: SinkServer, standards: Callable[[bytes], EmailMessage]) -> dict[str, EmailMessage]:
    out = {}
    for path in sink.messages():
        _, to, raw = sink_read(path)
        standards(raw)
        out[to] = email.message_from_bytes(raw, policy=email.policy.default)
    return out


def body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def send_and_wait(issue: Issue, mlist: MailingList, worker: WorkerProcess) -> Send:
    send = send_create(issue, [mlist])
    send_start(send.pk)
    wait_until(lambda: Send.objects.get(pk=send.pk).status == "done", what="the send to finish",
               worker=worker)
    return Send.objects.get(pk=send.pk)


def test_it_counts_35_people_10_clicks_and_ignores_the_scanner_on_a_per_person_list(
        issue: Issue, sink: SinkServer, worker_factory: Callable[..., WorkerProcess],
        standards: Callable[[bytes], EmailMessage], live_server: Any, settings: Any) -> None:
    settings.TRACKING_DEFAULT = "per-person"
    members = MailingList.objects.create(slug="members", name="Members")
    assert members.tracking_mode == "per-person"
    for i in range(40):
        subscribe(subscriber_make(f"p{i:02d}@example.net", f"Person {i}"), members)
    send = send_and_wait(issue, members, worker_factory())
    assert send.tracking_mode == "per-person"
    messages = received(sink, standards)
    assert len(messages) == 40
    people = sorted(messages)
    html = {to: body(m, "html") for to, m in messages.items()}
    pixels = {to: PIXEL_URL.findall(h) for to, h in html.items()}
    assert all(len(p) == 1 for p in pixels.values())
    clicks = {to: CLICK_URL.findall(h) for to, h in html.items()}
    # the text part carries the same click link as the html part
    first = clicks[people[0]][0].replace("&amp;", "&")
    assert first in body(messages[people[0]], "plain")

    for to in people[:30]:  # 30 people load the images
        assert http_request(live_server.url, pixels[to][0])[0] == 200
    target = None
    for to in people[25:35]:  # 10 click the first link; 30-34 never loaded images
        status, location = http_request(live_server.url, clicks[to][0].replace("&amp;", "&"))
        assert status == 302 and location and "/t/c/" not in location
        target = target or location
        assert location == target
    for to in people[35:]:  # a mail scanner checks every link with HEAD
        for url in clicks[to]:
            assert http_request(live_server.url, url.replace("&amp;", "&"), "HEAD", SCANNER)[0] == 302

    out = io.StringIO()
    call_command("send_report", str(send.pk), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["opens_unique"] == 35
    assert report["clicks_unique"] == 10
    assert {"url": target, "clicks_unique": 10} in [
        {"url": link["url"], "clicks_unique": link["clicks_unique"]} for link in report["links"]]


def test_a_tampered_click_link_redirects_nowhere_and_counts_nothing(
        issue: Issue, sink: SinkServer, worker_factory: Callable[..., WorkerProcess],
        standards: Callable[[bytes], EmailMessage], live_server: Any, settings: Any) -> None:
    settings.TRACKING_DEFAULT = "aggregate"
    members = MailingList.objects.create(slug="members", name="Members")
    subscribe(subscriber_make("reader@example.net", "Reader"), members)
    send = send_and_wait(issue, members, worker_factory())
    (message,) = received(sink, standards).values()
    url = CLICK_URL.findall(body(message, "html"))[0].replace("&amp;", "&")
    token = url.split("/t/c/")[1].split("/")[0]
    tampered = url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    status, location = http_request(live_server.url, tampered)
    assert status == 404 and location is None

    out = io.StringIO()
    call_command("send_report", str(send.pk), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["clicks_unique"] == 0 and report["opens_unique"] == 0


def test_a_list_created_with_tracking_off_gets_no_pixel_and_direct_links(
        issue: Issue, sink: SinkServer, worker_factory: Callable[..., WorkerProcess],
        standards: Callable[[bytes], EmailMessage], settings: Any) -> None:
    settings.TRACKING_DEFAULT = "off"
    quiet = MailingList.objects.create(slug="quiet", name="Quiet")
    assert quiet.tracking_mode == "off"
    subscribe(subscriber_make("quiet@example.net", "Quiet Reader"), quiet)
    send = send_and_wait(issue, quiet, worker_factory())
    assert send.tracking_mode == "off"
    (message,) = received(sink, standards).values()
    html, text = body(message, "html"), body(message, "plain")
    assert "/t/o/" not in html and "/t/c/" not in html and "/t/c/" not in text
    assert 'href="https://' in html
