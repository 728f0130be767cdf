"""Reports comms staff act on: the send's page, its CSV, the API, the issue list, and the
delivery chart's time axis."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.web.tokens import token_create
from subscribers.models import MailingList, Subscriber
from tests.api.conftest import ApiClient
from tests.engagement.conftest import BROWSER, built, paths, planned
from tests.sending.conftest import subscribe, subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def engaged(linked_issue: Issue, lists: dict[str, MailingList], client: Client) -> Send:
    """Four people in KZ and KG, all delivered; two open, one of them clicks a link twice."""
    readers: list[Subscriber] = []
    for i, country in enumerate(["KZ", "KZ", "KG", "KG"]):
        r = subscriber_make(f"r{i}@example.net", f"R {i}", country=country)
        subscribe(r, lists["partners"])
        readers.append(r)
    send = planned(linked_issue, [lists["partners"]])
    start = timezone.now() - timedelta(hours=3)
    Send.objects.filter(pk=send.pk).update(status="done", started_at=start)
    Delivery.objects.filter(send=send).update(status="sent", sent_at=start + timedelta(seconds=20))
    send.refresh_from_db()
    links = [paths(built(send, r)) for r in readers]
    client.get(links[0][0], HTTP_USER_AGENT=BROWSER)
    client.get(links[1][0], HTTP_USER_AGENT=BROWSER)
    client.get(links[1][1][0], HTTP_USER_AGENT=BROWSER)
    client.get(links[1][1][0], HTTP_USER_AGENT=BROWSER)
    return send


def test_the_send_report_shows_opens_clicks_links_and_breakdowns(
        viewer_client: Client, engaged: Send) -> None:
    page = viewer_client.get(reverse("web:send-report", args=[engaged.pk])).content.decode()
    figures = re.search(r'id="engagement".*?</table>', page, re.S)
    assert figures is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', figures.group(0))
    assert cells[:5] == ["4", "2", "50.0\u00a0%", "1", "25.0\u00a0%"]  # delivered, opens, clicks
    links = re.search(r'id="links".*?</table>', page, re.S)
    assert links is not None and '<td class="num">1</td><td class="num">2</td>' in links.group(0)
    assert "By country" in page and "<th scope=\"row\">KZ</th>" in page


def test_the_engagement_csv_has_summary_links_and_countries(
        viewer_client: Client, engaged: Send) -> None:
    response = viewer_client.get(reverse("web:send-engagement-csv", args=[engaged.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1] == ["summary", "all", "4", "2", "1", "2"]
    assert ["country", "KZ", "2", "2", "1", ""] in rows
    assert sum(1 for r in rows if r[0] == "link" and r[4:] == ["1", "2"]) == 1


def test_the_api_reports_a_send_and_its_issue(viewer_user: User, engaged: Send) -> None:
    api = ApiClient(token_create(viewer_user, name="test"))
    body = api.get(f"/sends/{engaged.pk}/report").json()
    assert (body["opens_unique"], body["clicks_unique"], body["click_to_open"]) == (2, 1, 0.5)
    assert max(link["clicks_unique"] for link in body["links"]) == 1
    issue_body = api.get(f"/issues/{engaged.issue_id}/report").json()
    assert issue_body["delivered"] == 4 and issue_body["opens_unique"] == 2


def test_the_issue_list_shows_a_sent_issue_as_sent_with_its_rates(
        viewer_client: Client, engaged: Send, settings: Any) -> None:
    from mailer.engagement.intake import hits_flush_all

    hits_flush_all()
    page = viewer_client.get(reverse("web:issues")).content.decode()
    row = re.search(r"<tr>\s*<td>[^<]*" + re.escape(engaged.issue.title) + r".*?</tr>", page, re.S)
    assert row is not None
    assert "status-sent" in row.group(0) and "50.0\u00a0% / 25.0\u00a0%" in row.group(0)
    assert 'id="trend"' in page


def test_the_delivery_chart_of_a_short_send_has_distinct_time_labels(
        viewer_client: Client, engaged: Send) -> None:
    first = timezone.now().replace(microsecond=0)
    for i, d in enumerate(Delivery.objects.filter(send=engaged).order_by("id")):
        Delivery.objects.filter(pk=d.pk).update(sent_at=first + timedelta(seconds=7 * i))
    page = viewer_client.get(reverse("web:send-report", args=[engaged.pk])).content.decode()
    chart = re.search(r'aria-labelledby="delivery-chart-title".*?</svg>', page, re.S)
    assert chart is not None
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", chart.group(0))
    assert len(labels) == 5 and len(set(labels)) == 5
    xs = [int(x) for x in re.findall(r'<rect x="(\d+)"', chart.group(0))]
    assert xs == sorted(xs) and xs[-1] > 500  # the last message sits at the end of the axis


@pytest.fixture
def per_person(lists: dict[str, MailingList]) -> None:
    MailingList.objects.filter(pk=lists["partners"].pk).update(tracking_mode="per-person")


def test_a_per_person_send_shows_who_read_in_the_recipient_log(
        per_person: None, viewer_client: Client, engaged: Send) -> None:
    page = viewer_client.get(reverse("web:send-report", args=[engaged.pk])).content.decode()
    log = re.search(r'id="log".*?</table>', page, re.S)
    assert log is not None
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r"<tr><td>([^<]+)</td>.*?<td>([^<]*)</td></tr>", log.group(0), re.S)}
    assert rows == {"r0@example.net": "opened", "r1@example.net": "opened and clicked",
                    "r2@example.net": "—", "r3@example.net": "—"}


def test_send_report_in_a_terminal_prints_opens_clicks_and_links(engaged: Send) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("send_report", str(engaged.pk), stdout=out)
    assert "Opened by people: 2 (50.0%); clicked: 1 (25.0%), click-to-open 50.0%" in out.getvalue()
