"""Engagement tests reuse the send pipeline's fixtures: the seed issue, lists, the SMTP
sink, the STANDARDS checks and a real Celery worker on the test's Redis db."""

from __future__ import annotations

import email
import email.policy
import http.client
import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.sending.compose import MessageFactory
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_plan
from subscribers.models import MailingList, Subscriber
from tests.sending.conftest import (  # noqa: F401 - fixtures, registered by import
    FIXTURE_ISSUE,
    broker,
    issue,
    lists,
    send_queue_name,
    send_redis_url,
    send_settings,
    sink,
    standards,
    worker_env,
    worker_factory,
)
from tests.web.personas import (  # noqa: F401 - fixtures, registered by import
    fast_password_hashing,
    viewer_client,
    viewer_user,
)

BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0")
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel link protection)"
SITE = "https://news.example.org"


def http_request(live_url: str, site_url: str, method: str = "GET",
                 agent: str = BROWSER) -> tuple[int, str | None]:
    """Send ``site_url`` (an address from an email) to the live server instead of the
    site; (status, Location header). Redirects are not followed."""
    target = urlsplit(live_url)
    path = site_url.removeprefix(SITE)
    conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=10)
    try:
        conn.request(method, path, headers={"User-Agent": agent})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        conn.close()


PIXEL_URL = re.compile(r'src="(https://[^"]+/t/o/[^"]+\.gif)"')
CLICK_URL = re.compile(r'href="(https://[^"]+/t/c/[^"]+/)"')


@pytest.fixture
def linked_issue(db: None) -> Issue:
    """The seed issue (which has one web link) with three more links at its end."""
    source = FIXTURE_ISSUE.read_text(encoding="utf-8") + (
        "\n\nRead more: [reports](https://www.iom.int/reports), "
        "[data](https://dtm.iom.int/?region=ca&lang=en) and "
        "[jobs](https://www.iom.int/jobs).\n")
    return issue_import(source, language="en", slug="issue-links").issue


PIXEL = re.compile(r'src="https://news\.example\.org(/t/o/[^"]+)"')
CLICK = re.compile(r'href="https://news\.example\.org(/t/c/[^"]+)"')


def planned(of: Issue, to: list[MailingList]) -> Send:
    send = send_create(of, to)
    send_plan(send)
    send.refresh_from_db()
    return send


def built(send: Send, person: Subscriber) -> EmailMessage:
    d = Delivery.objects.get(send=send, subscriber=person)
    factory = MessageFactory(send)
    rcpt = factory.recipient(d.pk, person.pk, d.email, person.name, "", d.mailing_list_id)
    msg = email.message_from_bytes(factory.build(d.variant_id, rcpt).data,
                                   policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def part(msg: EmailMessage, subtype: str) -> str:
    body = msg.get_body(preferencelist=(subtype,))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def paths(msg: EmailMessage) -> tuple[str, list[str]]:
    html = part(msg, "html")
    (pixel,) = PIXEL.findall(html)
    return pixel, [c.replace("&amp;", "&") for c in CLICK.findall(html)]
