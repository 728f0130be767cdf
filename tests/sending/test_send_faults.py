"""A failure about the send (DKIM key, layout, rate limit without Redis, Redis away)
never lands on recipients: the batch hands its rows back unflagged and the send is
paused with a reason that names the cause and the fix. Resume after the fix delivers
everyone once."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailer.issues.models import Issue, IssueVariant
from mailer.sending import ratelimit
from mailer.sending.control import send_cancel, send_resume
from mailer.sending.models import Delivery, Route, Send, SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sending.runner import delivery_send_range
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from tests.sending.conftest import PrivateRedis, WorkerProcess, sink_read, wait_until
from tests.sending.test_send_reliability import audience_bulk

pytestmark = pytest.mark.django_db
DKIM_DIR = Path(__file__).resolve().parents[1] / "signing"


def run_all(send: Send) -> None:
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)


def started(issue: Issue, lists: dict[str, MailingList], **fields: Any) -> Send:
    send = send_create(issue, [lists["partners"], lists["public"]], **fields)
    send_start(send.pk)
    return send


def assert_rows_kept_unflagged(send: Send) -> None:
    rows = Delivery.objects.filter(send=send)
    assert rows.count() == 4
    assert set(rows.values_list("status", flat=True)) == {"pending"}
    assert not rows.filter(possibly_duplicated=True).exists()
    assert set(rows.values_list("attempts", flat=True)) == {0}


def paused_reason(send: Send) -> str:
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED, send.status_reason
    return send.status_reason


@pytest.fixture
def dkim_path(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """Where the workers' DKIM key lives; ``key_breaks`` spoils it after the start
    (preflight would refuse a send whose key is already bad)."""
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_DOMAIN = "news.example.org"
    yield tmp_path / "dkim.pem"
    dkim_key.cache_clear()


def key_breaks(path: Path, settings: Any) -> None:
    path.write_text("this is not a key\n")
    settings.DKIM_PRIVATE_KEY_PATH = str(path)
    dkim_key.cache_clear()


def test_it_pauses_naming_the_dkim_key_when_it_is_not_a_pem_key_and_resumes_after_the_fix(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, dkim_path: Path, settings: Any) -> None:
    send = started(issue, lists)
    key_breaks(dkim_path, settings)
    run_all(send)

    reason = paused_reason(send)
    assert f"the DKIM key at {dkim_path} (DKIM_PRIVATE_KEY_PATH) is not a PEM private key" in reason
    assert "resume" in reason
    assert_rows_kept_unflagged(send)
    assert sink.messages() == []

    shutil.copy(DKIM_DIR / "test-dkim-private.pem", dkim_path)
    send_resume(send.pk)
    run_all(send)
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    messages = sink.messages()
    assert len(messages) == 4
    received = Counter(sink_read(p)[1] for p in messages)
    assert set(received.values()) == {1}
    assert all(b"DKIM-Signature:" in sink_read(p)[2] for p in messages)


def test_it_pauses_naming_the_layout_when_the_issue_no_longer_renders(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer) -> None:
    send = started(issue, lists)
    # A layout named by the issue is switched off after planning: the cached
    # compilation is stale and compiling again fails.
    for variant in IssueVariant.objects.filter(issue=issue):
        variant.source_markdown = "---\nlayout: retired\n---\n" + variant.source_markdown
        variant.revision += 1
        variant.save()
    run_all(send)

    reason = paused_reason(send)
    assert "the issue cannot be rendered" in reason and "'retired'" in reason
    assert_rows_kept_unflagged(send)
    assert sink.messages() == []


def test_it_pauses_naming_the_route_when_its_rate_needs_redis_and_there_is_none(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, settings: Any) -> None:
    route = Route.objects.create(name="partners-relay", url=f"smtp://127.0.0.1:{sink.port}")
    send = started(issue, lists, smtp_route=route)
    # The rate is set after the start, on workers that have no Redis configured.
    Route.objects.filter(pk=route.pk).update(rate_per_second=5)
    settings.REDIS_URL = ""
    run_all(send)

    reason = paused_reason(send)
    assert "SMTP route 'partners-relay' limits sending to 5 messages/s" in reason
    assert "REDIS_URL is empty" in reason and "SEND_RATE_PER_SECOND" not in reason
    assert_rows_kept_unflagged(send)


def test_it_pauses_when_redis_stays_away_after_waiting_for_it(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, settings: Any, private_redis: PrivateRedis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The patience is a minute in production; the behaviour after it is what is tested.
    monkeypatch.setattr(ratelimit, "REDIS_OUTAGE_PATIENCE_SECONDS", 1.0)
    settings.REDIS_URL = private_redis.url
    settings.SEND_RATE_PER_SECOND = 1000.0
    ratelimit._script.cache_clear()
    send = started(issue, lists)
    private_redis.kill()
    try:
        run_all(send)
    finally:
        ratelimit._script.cache_clear()

    reason = paused_reason(send)
    assert "Redis (REDIS_URL)" in reason and "unreachable" in reason
    assert_rows_kept_unflagged(send)


def test_a_cancel_settles_every_row_the_worker_held(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker notices the cancel between two messages and hands back what it holds:
    nobody stays 'waiting' for a lease to run out."""
    from mailer.sending import runner

    send = started(issue, lists)
    monkeypatch.setattr(runner, "STATUS_CHECK_SECONDS", 0.0)
    real_record = runner.ledger.delivery_outcomes_record

    def record_then_cancel(outcomes: list[Any]) -> set[int]:
        recorded = real_record(outcomes)
        if Send.objects.get(pk=send.pk).status == Send.Status.SENDING:
            send_cancel(send.pk)  # staff press Cancel once the first message is recorded
        return recorded

    monkeypatch.setattr(runner.ledger, "delivery_outcomes_record", record_then_cancel)
    run_all(send)

    statuses = Counter(Delivery.objects.filter(send=send).values_list("status", flat=True))
    assert statuses == {"sent": 1, "skipped": 3}
    assert len(sink.messages()) == 1


def test_a_send_paused_by_a_fault_is_paused_once_with_the_first_reason(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, dkim_path: Path, settings: Any) -> None:
    send = started(issue, lists)
    key_breaks(dkim_path, settings)
    first = SendBatch.objects.filter(send=send).values_list("low_id", "high_id").first()
    assert first is not None
    delivery_send_range(send.pk, *first)
    reason = paused_reason(send)
    delivery_send_range(send.pk, *first)  # a second copy of the task finds it paused
    assert paused_reason(send) == reason


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_an_unusable_dkim_key_pauses_the_send_and_a_fixed_one_finishes_it(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, tmp_path: Path,
        worker_factory: Callable[..., WorkerProcess]) -> None:
    audience_bulk(lists["public"], 300)
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    worker = worker_factory(DKIM_PRIVATE_KEY_PATH=str(bad_key))
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    wait_until(lambda: Send.objects.get(pk=send.pk).status == "paused", timeout=120,
               what="the send to pause", worker=worker)

    reason = Send.objects.get(pk=send.pk).status_reason
    assert "DKIM key at" in reason and "not a PEM private key" in reason
    rows = Delivery.objects.filter(send=send)
    assert not rows.exclude(status="pending").exists()
    assert not rows.filter(possibly_duplicated=True).exists()
    assert sink.messages() == []

    worker.stop()
    good = worker_factory(DKIM_PRIVATE_KEY_PATH=str(DKIM_DIR / "test-dkim-private.pem"))
    send_resume(send.pk)
    wait_until(lambda: Send.objects.get(pk=send.pk).status == "done", timeout=120,
               what="the send to finish", worker=good)
    messages = sink.messages()
    assert len(messages) == 300
    received = Counter(sink_read(p)[1] for p in messages)
    assert len(received) == 300 and set(received.values()) == {1}
    assert all(sink_read(p)[2].startswith(b"DKIM-Signature:") for p in messages)
