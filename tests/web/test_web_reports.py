"""Reports of a send: outcomes, chart, per-recipient log with search, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_start
from subscribers.models import MailingList, Subscriber
from subscribers.services import unsubscribe


@pytest.fixture
def finished_send(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
                  comms_user: User) -> Send:
    """ana sent, bek bounced, eve failed with a reply that looks like a formula; ana then
    unsubscribes."""
    send = send_create(issue, [lists["partners"], lists["news"]], created_by=comms_user)
    send_start(send.pk)
    now = timezone.now()
    rows = {d.email: d for d in send.deliveries.all()}
    # Outcomes are the sending workers' to record; a report only reads them.
    Delivery.objects.filter(pk=rows["ana@ngo.kz"].pk).update(status="sent", sent_at=now,
                                                             smtp_code=250, smtp_reply="2.0.0 Ok")
    Delivery.objects.filter(pk=rows["bek@ngo.kg"].pk).update(status="bounced", smtp_code=550,
                                                             smtp_reply="5.1.1 no such user")
    Delivery.objects.filter(pk=rows["eve@iom.int"].pk).update(status="failed", smtp_code=421,
                                                              smtp_reply="=HYPERLINK(\"x\")")
    unsubscribe(audience["ana"], lists["news"], actor="subscriber")
    send.refresh_from_db()
    return send


def test_it_shows_outcomes_including_unsubscribes_since(viewer_client: Client,
                                                        finished_send: Send) -> None:
    from mailer.web.reports import outcomes

    counts = outcomes(finished_send)
    assert (counts["sent"], counts["bounced"], counts["failed"], counts["skipped"],
            counts["unsubscribed_since"]) == (1, 1, 1, 0, 1)
    page = viewer_client.get(reverse("web:send-report", args=[finished_send.pk]))
    assert page.status_code == 200
    assert b'id="outcomes"' in page.content


def test_it_lists_the_most_common_problems(viewer_client: Client, finished_send: Send) -> None:
    page = viewer_client.get(reverse("web:send-report", args=[finished_send.pk])).content.decode()
    assert 'id="failures"' in page and "5.1.1 no such user" in page


def test_it_draws_deliveries_over_time(viewer_client: Client, finished_send: Send) -> None:
    page = viewer_client.get(reverse("web:send-report", args=[finished_send.pk])).content.decode()
    assert "<svg" in page and "<rect" in page


def test_it_searches_the_per_recipient_log(viewer_client: Client, finished_send: Send) -> None:
    page = viewer_client.get(reverse("web:send-report", args=[finished_send.pk]),
                             {"q": "ngo.k"}).content.decode()
    assert "ana@ngo.kz" in page and "bek@ngo.kg" in page and "eve@iom.int" not in page
    page = viewer_client.get(reverse("web:send-report", args=[finished_send.pk]),
                             {"status": "bounced"}).content.decode()
    assert "bek@ngo.kg" in page and "ana@ngo.kz" not in page


def test_it_exports_the_log_as_csv_with_formulas_neutralised(viewer_client: Client,
                                                              finished_send: Send) -> None:
    response = viewer_client.get(reverse("web:send-report-csv", args=[finished_send.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_email = {r["email"]: r for r in rows}
    assert set(by_email) == {"ana@ngo.kz", "bek@ngo.kg", "eve@iom.int"}
    assert by_email["bek@ngo.kg"]["status"] == "bounced"
    assert by_email["eve@iom.int"]["smtp_reply"].startswith("'=")


def test_it_lists_all_sends_of_an_issue(viewer_client: Client, finished_send: Send,
                                        issue: Issue) -> None:
    page = viewer_client.get(reverse("web:issue-sends", args=[issue.pk])).content.decode()
    assert reverse("web:send-report", args=[finished_send.pk]) in page


def test_it_shows_the_progress_page_with_counters(viewer_client: Client,
                                                  finished_send: Send) -> None:
    page = viewer_client.get(reverse("web:send-detail", args=[finished_send.pk])).content.decode()
    assert 'role="progressbar"' in page and 'aria-valuenow="100"' in page
    assert "5.1.1 no such user" in page  # recent errors
