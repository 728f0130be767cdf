"""Claiming, sending and recording in-process against a real SMTP sink."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import Any

import pytest
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending import delivery as ledger
from mailer.sending.connections import Result, connections_open
from mailer.sending.mime import message_id_for
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sending.routes import route_for
from mailer.sending.runner import LeaseHeartbeat, RangeReport, RangeSender, delivery_send_range
from mailer.sending.verp import verp_read
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.services import is_suppressed
from subscribers.tokens import unsubscribe_token_read
from tests.sending.conftest import sink_read, subscribe, subscriber_make, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> Send:
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    return Send.objects.get(pk=send.pk)


def run_all(send: Send) -> None:
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)


def test_it_sends_each_planned_recipient_exactly_once(started: Send, sink: SinkServer) -> None:
    run_all(started)
    rcpts = sorted(sink_read(p)[1] for p in sink.messages())
    assert rcpts == ["aida@ngo.kz", "bek@ngo.kg", "chris@un.org", "dina@gov.tj"]


def test_it_records_the_smtp_reply_and_message_id_of_each_sent_row(
        started: Send, sink: SinkServer) -> None:
    run_all(started)
    for d in Delivery.objects.filter(send=started):
        assert (d.status, d.smtp_code, d.attempts) == ("sent", 250, 1)
        assert "stored" in d.smtp_reply and d.sent_at and not d.lease_owner
        assert d.message_id == message_id_for(started.pk, d.subscriber_id)


def test_it_marks_the_send_done_when_every_row_is_final(started: Send, sink: SinkServer) -> None:
    run_all(started)
    started.refresh_from_db()
    assert started.status == "done" and started.finished_at


def test_it_builds_messages_that_meet_the_standards(
        started: Send, sink: SinkServer, standards: Callable[[bytes], EmailMessage]) -> None:
    run_all(started)
    assert len(sink.messages()) == 4
    for path in sink.messages():
        standards(sink_read(path)[2])


def test_it_uses_a_signed_verp_return_path_naming_the_delivery(
        started: Send, sink: SinkServer) -> None:
    run_all(started)
    assert len(sink.messages()) == 4
    for path in sink.messages():
        mail_from, rcpt, _ = sink_read(path)
        delivery = Delivery.objects.get(pk=verp_read(mail_from))
        assert delivery.email == rcpt and mail_from.endswith("@bounce.example.org")


def test_it_sends_russian_subscribers_the_russian_subject_as_encoded_words(
        started: Send, sink: SinkServer, standards: Callable[[bytes], EmailMessage]) -> None:
    run_all(started)
    by_rcpt = {sink_read(p)[1]: standards(sink_read(p)[2]) for p in sink.messages()}
    aida = by_rcpt["aida@ngo.kz"]
    assert str(aida["Subject"]).startswith("Выпуск №3")
    assert "Аида Касымова" in str(aida["To"])
    assert "=?utf-8?" in sink_read(next(p for p in sink.messages()
                                        if sink_read(p)[1] == "aida@ngo.kz"))[2].decode("ascii")
    assert str(make_header(decode_header(str(by_rcpt["bek@ngo.kg"]["Subject"])))) == "RETURNING HOME"


def test_it_puts_the_recipients_own_unsubscribe_link_in_the_header(
        started: Send, sink: SinkServer, audience: dict[str, Subscriber],
        standards: Callable[[bytes], EmailMessage]) -> None:
    run_all(started)
    assert len(sink.messages()) == 4
    for path in sink.messages():
        _, rcpt, raw = sink_read(path)
        msg = standards(raw)
        token = str(msg["List-Unsubscribe"]).split("/u/", 1)[1].split("/", 1)[0]
        sub_id, list_id = unsubscribe_token_read(token)
        assert Subscriber.objects.get(pk=sub_id).email == rcpt
        assert Subscription.objects.filter(subscriber_id=sub_id, mailing_list_id=list_id).exists()


def test_it_skips_a_recipient_who_unsubscribed_after_planning(
        started: Send, sink: SinkServer, audience: dict[str, Subscriber]) -> None:
    Subscription.objects.filter(subscriber=audience["dina"]).update(status="unsubscribed")
    run_all(started)
    dina = Delivery.objects.get(send=started, subscriber=audience["dina"])
    assert dina.status == "skipped"
    assert "dina@gov.tj" not in [sink_read(p)[1] for p in sink.messages()]


def test_it_claims_a_row_only_once(started: Send) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    first = ledger.delivery_claim_batch(started.pk, low, high, owner="a", limit=3)
    second = ledger.delivery_claim_batch(started.pk, low, high, owner="b", limit=10)
    assert len(first) == 3 and len(second) == 1
    assert not {c.id for c in first} & {c.id for c in second}


def test_it_flags_only_the_first_unrecorded_row_of_a_dead_owner_as_possibly_duplicated(
        started: Send) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    claimed = ledger.delivery_claim_batch(started.pk, low, high, owner="dead", limit=4)
    ledger.delivery_outcomes_record([ledger.outcome_sent(claimed[0], "dead", code=250, reply="ok",
                                                          message_id="<x@y>")])
    Delivery.objects.filter(lease_owner="dead").update(
        lease_until=timezone.now() - timedelta(seconds=1))
    assert ledger.delivery_leases_expire(started.pk, low, high) == 3
    flagged = list(Delivery.objects.filter(send=started, possibly_duplicated=True)
                   .values_list("id", flat=True))
    assert flagged == [claimed[1].id]
    assert set(Delivery.objects.filter(send=started).values_list("status", flat=True)) == {
        "sent", "retrying"}


def test_it_does_not_record_an_outcome_for_a_row_whose_lease_was_taken_over(
        started: Send) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    row = ledger.delivery_claim_batch(started.pk, low, high, owner="slow", limit=1)[0]
    Delivery.objects.filter(pk=row.id).update(lease_owner="other")
    outcome = ledger.outcome_sent(row, "slow", code=250, reply="ok", message_id="")
    assert ledger.delivery_outcomes_record([outcome]) == set()


def test_it_stops_sending_when_the_send_is_paused(started: Send, sink: SinkServer,
                                                  settings: Any) -> None:
    Send.objects.filter(pk=started.pk).update(status="paused")
    run_all(started)
    assert sink.messages() == []
    assert set(Delivery.objects.filter(send=started).values_list("status", flat=True)) == {
        "pending"}


def test_it_suppresses_nobody_when_all_is_accepted(started: Send, sink: SinkServer) -> None:
    run_all(started)
    assert not any(is_suppressed(e) for e in ("aida@ngo.kz", "bek@ngo.kg"))


def test_it_delivers_a_line_holding_a_single_dot_intact(sink: SinkServer, settings: Any) -> None:
    from mailer.sending.smtp import SmtpSession

    body = b"Subject: dots\r\n\r\nfirst\r\n.\r\n..two\r\nlast\r\n"
    session = SmtpSession(settings.SMTP_ROUTE)
    session.deliver("bounces@bounce.example.org", "a@b.org", body)
    session.close()
    assert sink_read(sink.messages()[0])[2] == body


@dataclass
class ShortLeases:
    """A started send whose first rows owner "w1" claimed, with leases of 0.6 s (so a
    heartbeat beats every 0.2 s)."""

    send: Send
    low: int
    high: int
    claimed: list[ledger.Claimed]

    def lease(self) -> datetime:
        lease = Delivery.objects.get(pk=self.claimed[0].id).lease_until
        assert lease is not None
        return lease

    def heartbeat(self, **options: Any) -> LeaseHeartbeat:
        return LeaseHeartbeat(self.send.pk, self.low, self.high, "w1", **options)

    def renewed_by(self, heartbeat: LeaseHeartbeat, what: str) -> None:
        """Run ``heartbeat`` until it has renewed the first row's lease, then end it."""
        first_lease = self.lease()
        heartbeat.begin()
        try:
            wait_until(lambda: self.lease() > first_lease, timeout=10, what=what)
        finally:
            heartbeat.end()


@pytest.fixture
def short_leases(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
                 settings: Any) -> ShortLeases:
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    settings.SEND_LEASE_SECONDS = 0.6
    low, high = SendBatch.objects.filter(send=send).values_list("low_id", "high_id").get()
    claimed = ledger.delivery_claim_batch(send.pk, low, high, owner="w1", limit=10)
    return ShortLeases(send, low, high, claimed)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_leases_of_a_live_worker_and_stops_with_it(
        short_leases: ShortLeases) -> None:
    """Leases are short; a worker that lives (however slow its relay) keeps its rows
    because a thread renews them, and stops renewing when the batch ends."""
    heartbeat = short_leases.heartbeat()
    short_leases.renewed_by(heartbeat, "the lease to be renewed")
    assert heartbeat.thread is not None and not heartbeat.thread.is_alive()
    assert SendBatch.objects.get(send=short_leases.send).status == "running"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_gives_the_rows_up_when_the_sender_has_not_moved_for_its_stall_limit(
        short_leases: ShortLeases) -> None:
    """A live process whose sender hangs (an SMTP answer or a database call that never
    comes) must not hold its rows forever: the heartbeat stops renewing, and lease expiry
    hands the rows to another worker as if the process had died."""
    heartbeat = short_leases.heartbeat(stall_seconds=1.0)
    heartbeat.begin()
    try:
        wait_until(lambda: heartbeat.thread is not None and not heartbeat.thread.is_alive(),
                   timeout=10, what="the heartbeat to stop renewing")
        last_lease = short_leases.lease()
        wait_until(lambda: timezone.now() > last_lease, timeout=10, what="the lease to run out")
        returned = ledger.delivery_leases_expire(
            short_leases.send.pk, short_leases.low, short_leases.high)
    finally:
        heartbeat.end()
    assert returned == len(short_leases.claimed)


def test_a_sender_whose_heartbeat_gave_its_rows_up_sends_nothing_more(
        started: Send, sink: SinkServer) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    heartbeat = LeaseHeartbeat(started.pk, low, high, "w1")
    heartbeat.gave_up = True
    route, results, report = route_for(started), queue.SimpleQueue[Result](), RangeReport()
    conns = connections_open(route, "w1", 2, results)
    RangeSender(started, low, high, conns, results, route, report, heartbeat=heartbeat).run()
    assert "stalled" in report.stopped
    assert not sink.messages()
    assert set(Delivery.objects.filter(send=started).values_list("status", flat=True)) == {
        "pending"}


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_renewing_while_the_sender_reports_progress(
        short_leases: ShortLeases) -> None:
    heartbeat = short_leases.heartbeat(stall_seconds=1.0)
    heartbeat.begin()
    try:
        for _ in range(12):  # 2.4 s: more than twice the stall limit
            heartbeat.progress()
            time.sleep(0.2)
        assert heartbeat.thread is not None and heartbeat.thread.is_alive()
        assert short_leases.lease() > timezone.now()
    finally:
        heartbeat.end()


def test_it_restores_durable_commits_on_the_connection_after_a_batch(
        started: Send, sink: SinkServer) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    run_all(started)
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"


def test_it_records_the_outcomes_of_several_connections_in_one_statement(
        started: Send, django_assert_num_queries: Any) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    a = ledger.delivery_claim_batch(started.pk, low, high, owner="w:c0", limit=2)
    b = ledger.delivery_claim_batch(started.pk, low, high, owner="w:c1", limit=2)
    outcomes = [ledger.outcome_sent(a[0], "w:c0", code=250, reply="ok", message_id="<a@x>"),
                ledger.outcome_failure(b[0], "w:c1", permanent=False, bounce=False, code=451,
                                       reply="later", maybe_delivered=True)]
    with django_assert_num_queries(1 if ledger.connection.vendor == "postgresql" else 4):
        recorded = ledger.delivery_outcomes_record(outcomes)
    assert recorded == {a[0].id, b[0].id}
    sent, deferred = Delivery.objects.get(pk=a[0].id), Delivery.objects.get(pk=b[0].id)
    assert (sent.status, sent.attempts, sent.message_id, sent.lease_owner) == (
        "sent", 1, "<a@x>", "")
    assert sent.sent_at is not None
    assert (deferred.status, deferred.attempts, deferred.possibly_duplicated) == (
        "retrying", 1, True)
    assert deferred.next_attempt_at is not None and deferred.sent_at is None


def test_a_grouped_write_skips_only_the_row_whose_lease_was_taken_over(started: Send) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    mine, lost = ledger.delivery_claim_batch(started.pk, low, high, owner="w:c0", limit=2)
    Delivery.objects.filter(pk=lost.id).update(lease_owner="other")
    recorded = ledger.delivery_outcomes_record(
        [ledger.outcome_sent(r, "w:c0", code=250, reply="ok", message_id="") for r in (mine, lost)])
    assert recorded == {mine.id}
    assert Delivery.objects.get(pk=lost.id).status == "sending"


def test_the_heartbeat_and_the_release_cover_every_connection_of_the_worker(
        started: Send) -> None:
    low, high = SendBatch.objects.filter(send=started).values_list("low_id", "high_id").get()
    ledger.delivery_claim_batch(started.pk, low, high, owner="w1:c0", limit=1)
    ledger.delivery_claim_batch(started.pk, low, high, owner="w1:c1", limit=1)
    ledger.delivery_claim_batch(started.pk, low, high, owner="w10:c0", limit=1)  # another worker
    assert ledger.delivery_lease_extend(started.pk, low, high, "w1") == 2
    assert ledger.delivery_release_owner(started.pk, low, high, "w1") == 2
    assert list(Delivery.objects.filter(send=started, status="sending")
                .values_list("lease_owner", flat=True)) == ["w10:c0"]


def test_a_batch_is_shared_between_the_connections_of_a_worker_and_sent_once(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, settings: Any) -> None:
    from mailer.sending.runner import MIN_CLAIM

    settings.SEND_CONNECTIONS_PER_WORKER = 3
    for i in range(3 * MIN_CLAIM):
        subscribe(subscriber_make(f"r{i}@load.example", f"Reader {i}"), lists["public"])
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    low, high = SendBatch.objects.filter(send=send).values_list("low_id", "high_id").get()
    report = delivery_send_range(send.pk, low, high)
    assert (report.sent, report.connections) == (3 * MIN_CLAIM, 3)
    received = sorted(sink_read(p)[1] for p in sink.messages())
    assert received == sorted(f"r{i}@load.example" for i in range(3 * MIN_CLAIM))
    assert report.timings.build > 0 and report.timings.smtp > 0 and report.timings.ledger > 0


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_skips_a_row_locked_by_an_outcome_write_instead_of_waiting_for_it(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    """The heartbeat and the runner's grouped outcome write lock rows of one range in
    different orders; had the heartbeat waited, PostgreSQL would have had to kill one of
    them as a deadlock (seen in a 50,000 benchmark, where the runner then hung)."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows")
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    low, high = SendBatch.objects.filter(send=send).values_list("low_id", "high_id").get()
    claimed = ledger.delivery_claim_batch(send.pk, low, high, owner="w:c0", limit=10)
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:  # another connection, holding one row as an outcome write does
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=claimed[0].id)
                locked.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '3s'")  # waiting would end in an error here
        assert ledger.delivery_lease_extend(send.pk, low, high, "w") == len(claimed) - 1
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cur:
            cur.execute("RESET lock_timeout")


@pytest.mark.django_db(transaction=True)
def test_a_failed_outcome_write_stops_the_batch_and_leaves_its_rows_leased(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner used to wait forever for results it had already taken when recording
    them failed, while the heartbeat renewed the leases: a batch stuck silently. Now the
    error ends the batch (the task fails, the reconciler moves it again) and the rows whose
    messages went out stay leased, so their lease expiry flags them."""
    from django.db import DatabaseError, connection

    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    low, high = SendBatch.objects.filter(send=send).values_list("low_id", "high_id").get()

    def deadlock(outcomes: list[ledger.Outcome]) -> set[int]:
        raise DatabaseError("deadlock detected")

    monkeypatch.setattr(ledger, "delivery_outcomes_record", deadlock)
    raised: list[BaseException] = []

    def batch() -> None:
        try:
            delivery_send_range(send.pk, low, high)
        except BaseException as exc:
            raised.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=batch, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the batch hung after its outcome write failed"
    assert [type(e) for e in raised] == [DatabaseError]
    assert len(sink.messages()) >= 1
    statuses = set(Delivery.objects.filter(send=send).values_list("status", flat=True))
    assert "sending" in statuses and "sent" not in statuses


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_renewing_after_a_failed_renewal(
        short_leases: ShortLeases, monkeypatch: pytest.MonkeyPatch) -> None:
    """One failed renewal (a dropped connection, a killed statement) used to stop the
    heartbeat for good, and a live batch then lost its rows when the lease ran out."""
    from django.db import DatabaseError

    real, calls = ledger.delivery_lease_extend, []

    def flaky(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        if len(calls) == 1:
            raise DatabaseError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "delivery_lease_extend", flaky)
    short_leases.renewed_by(short_leases.heartbeat(),
                            "the lease to be renewed after a failed renewal")
    assert len(calls) >= 2
