"""A throttling relay slows a send down; it does not stop it (issue 13, item 6).

Deferrals (4xx, dropped connections) back the route off and are retried; the error
budget counts only permanent failures and retries that ran out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.sending import ratelimit
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_plan, send_start
from mailer.sending.progress import send_progress
from mailer.sending.reconcile import sends_pause_deferred_too_long
from mailer.sending.runner import delivery_send_range
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from subscribers.services import is_suppressed
from tests.sending.conftest import (
    FIXTURE_ISSUE,
    WorkerProcess,
    sink_read,
    subscribe,
    subscriber_make,
    wait_until,
)
from tests.sending.test_send_reliability import audience_bulk

REFUSED = {f"r{i}@load.example" for i in range(5, 1000, 100)}


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_throttling_relay_gets_everyone_once_without_pausing_the_send(
        issue: Issue, lists: dict[str, MailingList], scripted_sink: Callable[..., SinkServer],
        worker_factory: Callable[..., WorkerProcess]) -> None:
    audience_bulk(lists["public"], 1000)
    relay = scripted_sink(data_replies=["451 4.7.1 too many messages, slow down"] * 30,
                          drop_every=97,
                          rcpt_replies={a: f"550 5.1.1 <{a}>: no such user" for a in REFUSED})
    worker = worker_factory(SMTP_URL=f"smtp://127.0.0.1:{relay.port}?timeout=5")
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    wait_until(lambda: Send.objects.get(pk=send.pk).status in ("done", "paused"), timeout=600,
               interval=1.0, what="the send to finish", worker=worker)

    send.refresh_from_db()
    assert send.status == "done", send.status_reason  # never paused on the way
    messages = relay.messages()
    assert len(messages) == 990
    received = Counter(sink_read(p)[1] for p in messages)
    assert set(received) == {f"r{i}@load.example" for i in range(1000)} - REFUSED
    assert set(received.values()) == {1}
    outcomes = Counter(Delivery.objects.filter(send=send).values_list("status", flat=True))
    assert outcomes == {"sent": 990, "bounced": 10}
    assert all(is_suppressed(a) for a in REFUSED)
    # Deferred messages were retried, not given up on.
    assert Delivery.objects.filter(send=send, status="sent", attempts__gt=1).count() >= 30

    next_issue = issue_import(FIXTURE_ISSUE.read_text(encoding="utf-8"), language="en",
                              slug="issue-4").issue
    following = send_create(next_issue, [lists["public"]])
    send_plan(following)
    planned = set(Delivery.objects.filter(send=following).values_list("email", flat=True))
    assert len(planned) == 990 and not planned & REFUSED


@pytest.fixture
def started(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> Send:
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    return send


def run_all(send: Send) -> None:
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)


def relay_deferred_everything(send: Send, minutes_ago: float) -> None:
    """What a relay answering 451 to every attempt for a while leaves in the ledger."""
    past = timezone.now() - timedelta(minutes=minutes_ago)
    Send.objects.filter(pk=send.pk).update(updated_at=past)
    Delivery.objects.filter(send=send).update(
        status="retrying", attempts=2, smtp_code=451, smtp_reply="4.7.1 slow down",
        next_attempt_at=timezone.now() + timedelta(minutes=2),
        updated_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.django_db
def test_it_pauses_a_send_whose_relay_has_accepted_nothing_for_fifteen_minutes(
        started: Send) -> None:
    relay_deferred_everything(started, minutes_ago=16)
    assert sends_pause_deferred_too_long() == 1
    started.refresh_from_db()
    assert started.status == "paused"
    assert "accepted no message for 15 minutes" in started.status_reason
    assert "451 4.7.1 slow down" in started.status_reason
    assert "4 recipients wait unsent and nothing was lost" in started.status_reason


@pytest.mark.django_db
def test_it_keeps_a_send_going_while_the_relay_accepts_some_messages(started: Send) -> None:
    relay_deferred_everything(started, minutes_ago=16)
    Delivery.objects.filter(pk=Delivery.objects.filter(send=started).first().pk).update(
        status="sent", sent_at=timezone.now() - timedelta(minutes=3))
    assert sends_pause_deferred_too_long() == 0


@pytest.mark.django_db
def test_it_gives_a_resumed_send_the_whole_patience_again(started: Send) -> None:
    relay_deferred_everything(started, minutes_ago=5)
    assert sends_pause_deferred_too_long() == 0


@pytest.mark.django_db
def test_deferrals_do_not_spend_the_error_budget(
        issue: Issue, lists: dict[str, MailingList], scripted_sink: Callable[..., SinkServer],
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The backoff between messages is not what this test is about: keep it short.
    monkeypatch.setattr(ratelimit, "DEFERRAL_BACKOFF_MAX_SECONDS", 0.01)
    settings.SEND_ERROR_BUDGET = 0.2
    for i in range(30):
        subscribe(subscriber_make(f"busy{i}@slow.example"), lists["public"])
    scripted_sink(data_replies=["451 4.7.1 slow down"] * 15)
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    run_all(send)
    send.refresh_from_db()
    assert send.status == "sending", send.status_reason
    assert Delivery.objects.filter(send=send, status="retrying").count() == 15


@pytest.mark.django_db
def test_progress_says_when_deferred_messages_are_retried(
        started: Send, scripted_sink: Callable[..., SinkServer]) -> None:
    scripted_sink(data_replies=["451 4.7.1 slow down"])
    run_all(started)
    progress = send_progress(started.pk)
    retry_at = Delivery.objects.get(send=started, status="retrying").next_attempt_at
    assert progress["deferred"] == 1
    assert progress["retry_at"] == retry_at.replace(microsecond=0).isoformat()
    assert progress["notices"] == [
        f"1 deferred by the relay, retrying at {timezone.localtime(retry_at):%H:%M:%S}; "
        "nothing is lost and the send slows down instead of stopping"]
