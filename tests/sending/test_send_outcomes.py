"""SMTP outcomes are classified: 2xx sent, 4xx and lost connections retried with
backoff, 5xx on the recipient bounced and suppressed, too many errors pause the send."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailer.env import smtp_from_url
from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sending.runner import RangeReport, delivery_send_range
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber, Suppression
from subscribers.services import is_suppressed
from tests.sending.conftest import sink_read, subscribe, subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> Send:
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    return send


def run_all(send: Send) -> RangeReport:
    total = RangeReport()
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        r = delivery_send_range(send.pk, low, high)
        total.sent += r.sent
        total.connections += r.connections
        total.stopped = total.stopped or r.stopped
    return total


def row(send: Send, email: str) -> Delivery:
    return Delivery.objects.get(send=send, email=email)


def test_it_bounces_and_suppresses_a_recipient_refused_with_550(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    scripted_sink(rcpt_replies={"dina@gov.tj": "550 5.1.1 <dina@gov.tj>: user unknown"})
    run_all(started)
    dina = row(started, "dina@gov.tj")
    assert (dina.status, dina.smtp_code) == ("bounced", 550) and "user unknown" in dina.smtp_reply
    assert Suppression.objects.get(email="dina@gov.tj").reason == "hard_bounce"


def test_it_keeps_sending_to_others_after_a_bounce(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    sink = scripted_sink(rcpt_replies={"aida@ngo.kz": "550 5.1.1 no such user"})
    run_all(started)
    assert sorted(sink_read(p)[1] for p in sink.messages()) == [
        "bek@ngo.kg", "chris@un.org", "dina@gov.tj"]


def test_it_fails_without_suppressing_when_the_message_is_refused_at_data(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    scripted_sink(data_replies=["554 5.7.1 message content rejected"])
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id").first()
    assert first is not None and (first.status, first.smtp_code) == ("failed", 554)
    assert not is_suppressed(first.email)


def test_it_schedules_a_jittered_retry_for_a_451(
        started: Send, scripted_sink: Callable[..., SinkServer], settings: Any) -> None:
    scripted_sink(data_replies=["451 4.3.0 try again later"])
    before = timezone.now()
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id")[0]
    assert (first.status, first.attempts, first.smtp_code) == ("retrying", 1, 451)
    assert first.next_attempt_at is not None
    delay = (first.next_attempt_at - before).total_seconds()
    assert 0.75 * 30 - 1 <= delay <= 1.25 * 30 + 5
    assert SendBatch.objects.get(send=started).status == "waiting"


def test_it_sends_a_retried_row_once_it_is_due(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    sink = scripted_sink(data_replies=["451 4.3.0 try again later"])
    run_all(started)
    Delivery.objects.filter(send=started, status="retrying").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id")[0]
    assert (first.status, first.attempts) == ("sent", 2)
    assert len(sink.messages()) == 4
    started.refresh_from_db()
    assert started.status == "done"


def test_it_reconnects_after_a_421_and_sends_the_rest(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    sink = scripted_sink(data_replies=["421 4.3.2 service shutting down"])
    report = run_all(started)
    assert report.connections == 2 and len(sink.messages()) == 3
    assert Delivery.objects.filter(send=started, status="retrying").count() == 1


def test_it_retries_a_message_whose_connection_dropped(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    sink = scripted_sink(drop_data=1)
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id")[0]
    assert first.status == "retrying" and first.smtp_code is None and first.smtp_reply
    assert len(sink.messages()) == 3


def test_a_connection_dropped_after_the_whole_message_flags_it_possibly_duplicated(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    scripted_sink(drop_data=1)  # the server had the whole message when it went away
    run_all(started)
    flagged = Delivery.objects.filter(send=started, possibly_duplicated=True)
    assert list(flagged.values_list("pk", flat=True)) == [
        Delivery.objects.filter(send=started).order_by("id")[0].pk]


def test_a_connection_dropped_before_the_message_was_sent_flags_nothing(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    sink = scripted_sink(drop_rcpt=1)
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id")[0]
    assert first.status == "retrying" and not first.possibly_duplicated
    assert len(sink.messages()) == 3


def test_it_gives_up_after_the_maximum_number_of_attempts(
        started: Send, scripted_sink: Callable[..., SinkServer], settings: Any) -> None:
    settings.SEND_MAX_ATTEMPTS = 2
    scripted_sink(data_replies=["451 busy", None, None, None, "451 busy"])
    run_all(started)
    Delivery.objects.filter(send=started, status="retrying").update(
        next_attempt_at=timezone.now())
    run_all(started)
    first = Delivery.objects.filter(send=started).order_by("id")[0]
    assert (first.status, first.attempts) == ("failed", 2)


def test_it_leaves_rows_to_retry_when_the_server_is_unreachable(
        started: Send, settings: Any) -> None:
    settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{free_port()}?timeout=2")
    report = run_all(started)
    assert "unreachable" in report.stopped
    assert set(Delivery.objects.filter(send=started).values_list("status", flat=True)) == {
        "retrying"}


def test_a_batch_without_failures_never_aggregates_its_range_for_the_error_budget(
        started: Send, sink: SinkServer) -> None:
    with CaptureQueriesContext(connection) as queries:
        report = run_all(started)
    assert report.sent == 4
    assert not [q["sql"] for q in queries.captured_queries if "FILTER (WHERE" in q["sql"]]


def test_it_pauses_the_send_when_the_error_budget_is_spent(
        issue: Issue, lists: dict[str, MailingList],
        scripted_sink: Callable[..., SinkServer], settings: Any) -> None:
    settings.SEND_ERROR_BUDGET = 0.2
    for i in range(30):
        subscribe(subscriber_make(f"gone{i}@old.example"), lists["public"])
    scripted_sink(rcpt_replies={f"gone{i}@old.example": "550 5.1.1 unknown" for i in range(30)})
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    run_all(send)
    send.refresh_from_db()
    assert send.status == "paused" and "error budget" in send.status_reason
