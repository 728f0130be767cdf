"""Sending one batch (a Delivery id range) over a few reused SMTP connections.

``delivery_send_range`` is the body of the ``send_batch`` task: each connection
(``connections.Connection``) claims a chunk of due rows; the runner re-checks each
recipient, builds the message and hands it to its connection; the outcomes of all
connections are recorded together, one statement per tick, and a connection gets its
next message only once its previous outcome is recorded. Repeat until the range has
nothing due. No database transaction is open while SMTP talks (STYLE.md habit 3).
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from mailer.env import ConfigError
from mailer.errors import SendFault
from mailer.sending import delivery as ledger
from mailer.sending.compose import MessageFactory
from mailer.sending.connections import (
    Connection,
    Job,
    Result,
    Timings,
    connections_open,
    delivery_error,
)
from mailer.sending.faults import FAULTS, fault_from, send_pause_for_fault
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.outbound import signing_on
from mailer.sending.planning import audience_queryset
from mailer.sending.ratelimit import (
    TokenBlocks,
    rate_limit_wait,
    route_bucket_key,
    token_debt,
)
from mailer.sending.routes import ChosenRoute, route_for, route_rates_need_redis
from mailer.sending.smtp import ConnectError, DeliveryError
from mailer.sending.state import send_transition
from mailer.sending.verp import verp_address
from mailer.signing.dkim_sign import dkim_key
from subscribers.models import Subscription, Suppression
from subscribers.services import suppression_add

log = logging.getLogger(__name__)
D = Delivery.Status
# Rows per connection per claim. The heartbeat renews leases, so this is not bounded by
# SEND_LEASE_SECONDS; it bounds how many rows a worker holds per connection.
CHUNK = 100
MIN_CLAIM = 10  # a connection is dealt at least this many rows: a small batch stays on one
SKIPPED_REPLY = "not in the audience at send time (unsubscribed, suppressed or removed)"
MIN_OUTCOMES_FOR_BUDGET = 20
# Retries due sooner than this are re-enqueued with a countdown by the batch task;
# well under the broker's visibility timeout (Redis re-delivers ETA tasks after it).
SHORT_RETRY_HORIZON = 300.0
# How often a worker looks at the send's status inside a chunk, so that a pause or a
# cancel takes effect within about this long even on a slow, rate-limited route.
STATUS_CHECK_SECONDS = 1.0
# How long a tick may wait for more connections to finish before it records what it
# has. Nothing is sent meanwhile by the connections waiting to be recorded, so this
# only delays them; against a local sink it cut the ledger's time per message by about
# a third (0.27-0.31 -> 0.19-0.20 ms) and raised the send rate 4-12 % in alternating runs.
GROUP_WAIT_SECONDS = 0.002


@dataclass
class RangeReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    connections: int = 0
    stopped: str = ""
    fault: SendFault | None = None  # a failure about the send: it was paused
    timings: Timings = field(default_factory=Timings)


def lease_owner_new() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def _send_status(send_id: int) -> str | None:
    return Send.objects.filter(pk=send_id).values_list("status", flat=True).first()


class LeaseHeartbeat:
    """Renews the batch's leases (and marks the batch alive) every third of
    SEND_LEASE_SECONDS from a thread, so leases can be short: a worker blocked in a slow
    SMTP answer or a rate-limit wait keeps its rows, a dead one loses them within one
    lease, and the reconciler re-queues them (DESIGN.md, "Two kinds of failure").

    A live process whose sender is stuck must not keep its rows forever either: when
    the sender has not moved (``progress``) for ``stall_seconds``, the heartbeat stops
    renewing and says so in the log; the sender, should it wake, stops at its next step
    (``gave_up``); the rows go to another worker when their leases run out, as if the
    process had died (its message on the wire is flagged
    ``possibly_duplicated`` by lease expiry, DESIGN.md invariant 3).

    Not started inside an open transaction (tests run one around everything): the
    thread's own connection could not see those rows and would wait on their locks."""

    def __init__(self, send_id: int, low_id: int, high_id: int, owner: str, *,
                 stall_seconds: float = 600.0):
        self.args = (send_id, low_id, high_id, owner)
        self.stall_seconds = stall_seconds
        self.progressed = time.monotonic()
        self.gave_up = False  # the rows were given up: the sender must stop too
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def begin(self) -> None:
        if connection.in_atomic_block:
            return
        self.progress()
        self.thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
        self.thread.start()

    def progress(self) -> None:
        """The sender moved: it claimed rows, recorded outcomes or got a rate token."""
        self.progressed = time.monotonic()

    def _run(self) -> None:
        send_id, low_id, high_id, owner = self.args
        try:
            while not self.stopped.wait(settings.SEND_LEASE_SECONDS / 3):
                quiet = time.monotonic() - self.progressed
                if quiet > self.stall_seconds:
                    self.gave_up = True
                    log.error("send %s batch %s: the sender has not moved for %.0f s (a hung "
                              "SMTP answer or database call?); its leases are no longer "
                              "renewed, so another worker takes the rows over once they run "
                              "out", send_id, low_id, quiet)
                    return
                try:
                    ledger.delivery_lease_extend(send_id, low_id, high_id, owner)
                    _batch_mark(send_id, low_id, SendBatch.Status.RUNNING)
                except DatabaseError:
                    # A lost connection or a killed statement need not cost a live batch
                    # its rows: the next beat, on a new connection, is still within the
                    # lease (two more beats before it runs out).
                    log.warning("lease heartbeat of send %s batch %s: renewal failed, "
                                "retrying", send_id, low_id, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def end(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()


def stall_seconds_for(route: ChosenRoute) -> float:
    """How long a batch's sender may go without moving before its heartbeat gives the
    rows up: twice the "stalled" warning of the progress page, and never less than ten
    SMTP timeouts of the route (one message may wait through several answers)."""
    return max(2.0 * settings.SEND_STALL_WARNING_SECONDS, 10.0 * route.config.timeout)


def delivery_send_range(send_id: int, low_id: int, high_id: int) -> RangeReport:
    """Send every due row of the send in [low_id, high_id] over SEND_CONNECTIONS_PER_WORKER
    connections. Safe to run twice at once.

    A failure about the send (``faults.FAULTS``, or anything unexpected other than the
    database) releases the rows this call holds and pauses the send with the reason."""
    report = RangeReport()
    send = (Send.objects.select_related("issue", "segment", "smtp_route")
            .prefetch_related("lists", "excluded_lists").filter(pk=send_id).first())
    if send is None or send.status != Send.Status.SENDING:
        report.stopped = f"send is {send.status if send else 'gone'}"
        return report
    try:
        # An unusable route, rate or DKIM key stops the send before any row is claimed.
        route = route_for(send)
        route_rates_need_redis(route)
        dkim_key()
    except ConfigError as exc:
        report.fault = fault_from(exc)
        report.stopped = report.fault.reason
        send_pause_for_fault(send_id, report.fault)
        return report
    _batch_mark(send_id, low_id, SendBatch.Status.RUNNING)
    cpu_before = time.process_time()
    owner = lease_owner_new()
    results: queue.SimpleQueue[Result] = queue.SimpleQueue()
    conns = connections_open(route, owner, settings.SEND_CONNECTIONS_PER_WORKER, results)
    heartbeat = LeaseHeartbeat(send_id, low_id, high_id, owner,
                               stall_seconds=stall_seconds_for(route))
    try:
        heartbeat.begin()
        with ledger.outcome_commits_relaxed():
            RangeSender(send, low_id, high_id, conns, results, route, report,
                        heartbeat=heartbeat).run()
    except DatabaseError:
        raise  # the ledger itself is away: nothing can be recorded; leases run out
    except Exception as exc:  # about the send, not a recipient (DESIGN.md): pause, say why
        log.exception("send %s batch %s..%s stopped", send_id, low_id, high_id)
        report.fault = fault_from(exc)
        report.stopped = report.fault.reason
    finally:
        heartbeat.end()
        for conn in conns:
            conn.close()
            report.connections += conn.session.opened
            report.timings.add(conn.timings)
    _range_end(send_id, low_id, high_id, owner, report)
    report.timings.cpu = time.process_time() - cpu_before
    return report


def _range_end(send_id: int, low_id: int, high_id: int, owner: str, report: RangeReport) -> None:
    """Hand back what this call still holds, pause on a fault, record where the range is."""
    ledger.delivery_release_owner(send_id, low_id, high_id, owner)
    if report.fault is not None:
        send_pause_for_fault(send_id, report.fault)
    if _send_status(send_id) == Send.Status.CANCELLED:
        ledger.delivery_skip_unclaimed(send_id)
    batch_settle(send_id, low_id, high_id)
    send_finish_if_complete(send_id)


class RangeSender:
    """The runner's side of the connections: hands each idle connection its next built
    message, and records every finished message of every connection in one statement
    per tick before that connection gets another (so at most one unrecorded message per
    connection is ever on the wire)."""

    def __init__(self, send: Send, low_id: int, high_id: int, conns: list[Connection],
                 results: queue.SimpleQueue[Result], route: ChosenRoute, report: RangeReport,
                 *, heartbeat: LeaseHeartbeat | None = None):
        self.send, self.low_id, self.high_id = send, low_id, high_id
        self.heartbeat = heartbeat
        self.conns, self.results, self.route, self.report = conns, results, route, report
        self.factory = MessageFactory(send)
        self.signing = signing_on()
        self.tokens = TokenBlocks(len(conns))
        self.allowed: dict[int, tuple[str, str]] = {}  # re-checked audience of held rows
        self.lists_now: dict[int, set[int]] = {}
        self.look_at = 0.0
        self.unchecked = 0  # outcomes recorded since the error budget was last checked
        self.unchecked_bad = 0  # of those, failed for good or bounced
        self.exhausted = False  # a claim found fewer due rows than it asked for
        self.timings = report.timings

    def run(self) -> None:
        try:
            while self._fill():
                self._tick()
            self._error_budget_check(final=True)
        finally:
            # Whatever stopped the loop, a message on the wire gets its outcome recorded
            # before the rows still held are handed back as never tried.
            while any(c.busy for c in self.conns):
                self._tick()

    def progress(self) -> None:
        """Tell the lease heartbeat that this sender moves."""
        if self.heartbeat is not None:
            self.heartbeat.progress()

    def _sending(self, *, now: bool = False) -> bool:
        """Whether the send is still sending; looked up at most every STATUS_CHECK_SECONDS
        (or ``now``), so a pause or cancel takes effect within about that long."""
        if self.report.stopped:
            return False
        if self.heartbeat is not None and self.heartbeat.gave_up:
            # Another worker takes these rows over once their leases run out.
            self.report.stopped = "the rows were given up: the sender had stalled"
            return False
        if now or time.monotonic() > self.look_at:
            self.look_at = time.monotonic() + STATUS_CHECK_SECONDS
            if _send_status(self.send.pk) != Send.Status.SENDING:
                self.report.stopped = "send no longer sending"
        return not self.report.stopped

    def _fill(self) -> bool:
        """Give every idle connection its next message, claiming rows (one statement)
        for those that hold none; True while any connection is busy."""
        while self._sending():
            for conn in self.conns:
                if not (conn.busy or conn.drained or self.report.stopped):
                    job = self._next_job(conn)
                    if job is not None:
                        conn.submit(job)
            # One claim for every connection that holds no more rows, busy or not: they
            # run dry at about the same time, since rows are dealt to them in turn.
            dry = [c for c in self.conns if not (c.drained or c.rows)]
            if dry and self.exhausted:
                for conn in dry:
                    conn.drained = True
                break
            if not dry or self.report.stopped or not self._claim(dry):
                break
        return any(c.busy for c in self.conns)

    def _claim(self, conns: list[Connection]) -> bool:
        """Claim the next rows of the range for ``conns`` (one statement), re-check their
        recipients; a connection that got none is ``drained``. True if any row came."""
        started = time.perf_counter()
        send_id, low_id, high_id = self.send.pk, self.low_id, self.high_id
        claimed: list[ledger.Claimed] = []
        if self._sending(now=True):
            ledger.delivery_leases_expire(send_id, low_id, high_id)
            claimed = ledger.delivery_claim_for_connections(
                send_id, low_id, high_id, owners=[c.owner for c in conns],
                limit=CHUNK, least=MIN_CLAIM)
        self.progress()
        if claimed:
            self.allowed.update(_recheck(self.send, claimed))
            self.lists_now.update(_lists_now(self.send, claimed))
            self.factory.tracking.modes_prefetch([row.subscriber_id for row in claimed])
            by_owner = {c.owner: c for c in conns}
            for row in claimed:
                by_owner[row.owner].rows.append(row)
        for conn in conns:
            conn.drained = not conn.rows
        if len(claimed) < CHUNK * len(conns):
            # Nothing more is due in the range now: connections that run dry later stop
            # without asking again (rows due later are the batch task's retry).
            self.exhausted = True
        self.timings.claim += time.perf_counter() - started
        return bool(claimed)

    def _next_job(self, conn: Connection) -> Job | None:
        """The connection's next message, built and paced; None when it holds no more rows
        (the next ``_fill`` claims for it) or the send must stop (``report.stopped``)."""
        while conn.rows:
            row = conn.rows.popleft()
            person = self.allowed.get(row.subscriber_id or 0)
            if person is None:
                ledger.delivery_record_skipped(row.id, conn.owner, SKIPPED_REPLY)
                self.report.skipped += 1
                continue
            try:
                return self._job(row, person)
            except FAULTS as exc:
                # Nothing of this message was written to a socket: the caller releases it
                # and the rest unflagged, and pauses the send.
                self.report.fault = fault_from(exc)
                self.report.stopped = self.report.fault.reason
                return None
        return None

    def _job(self, row: ledger.Claimed, person: tuple[str, str]) -> Job:
        started = time.perf_counter()
        name, org = person
        rcpt = self.factory.recipient(row.id, row.subscriber_id or 0, row.email, name, org,
                                      _list_for(row, self.lists_now))
        # An unsigned message can be built dot-stuffed; a signed one is signed as the
        # recipient will see it, i.e. before dot-stuffing.
        message = self.factory.build(row.variant_id, rcpt, smtp=not self.signing)
        built = time.perf_counter()
        self.timings.build += built - started
        rate_limit_wait(self.route.bucket, row.email, rate=self.route.rate,
                        rate_origin=self.route.rate_origin, blocks=self.tokens,
                        waiting=self.progress)
        self.timings.rate_limit += time.perf_counter() - built
        return Job(row, verp_address(row.id), message.data, message.message_id,
                   stuffed=not self.signing)

    def _tick(self) -> None:
        """Wait for at least one connection to finish, then record every finished
        message in one statement. Until half of the busy connections have finished, it
        waits up to GROUP_WAIT_SECONDS for more: fewer, fuller statements."""
        started = time.perf_counter()
        done = [self.results.get()]
        busy = sum(c.busy for c in self.conns)
        until = started + GROUP_WAIT_SECONDS
        while len(done) < busy:
            left = until - time.perf_counter() if 2 * len(done) < busy else 0.0
            try:
                done.append(self.results.get(timeout=left) if left > 0
                            else self.results.get_nowait())
            except queue.Empty:
                break
        recorded_at = time.perf_counter()
        self.timings.wait += recorded_at - started
        try:
            self._record(done, recorded_at)
            self.progress()
        finally:
            # Their results are taken: whatever happened to the record, no connection of
            # ``done`` has a message out. (A failed write leaves the rows leased; their
            # lease expiry flags each connection's unrecorded message, DESIGN.md inv. 3.)
            for result in done:
                result.connection.busy = False

    def _record(self, done: list[Result], recorded_at: float) -> None:
        outcomes: list[tuple[ledger.Outcome, DeliveryError | None]] = []
        for result in done:
            outcome = self._outcome(result)
            if outcome is not None:
                outcomes.append((outcome, delivery_error(result)))
        recorded = ledger.delivery_outcomes_record([o for o, _ in outcomes])
        self.timings.ledger += time.perf_counter() - recorded_at
        for outcome, exc in outcomes:
            if outcome.id not in recorded:
                self.report.stopped = "lease lost"
                continue
            key = {D.SENT: "sent", D.BOUNCED: "bounced", D.FAILED: "failed",
                   D.RETRYING: "retrying"}[D(outcome.status)]
            setattr(self.report, key, getattr(self.report, key) + 1)
            self.unchecked_bad += outcome.status in (D.FAILED, D.BOUNCED)
            if outcome.status == D.BOUNCED and exc is not None:
                suppression_add(outcome_email(done, outcome.id), Suppression.Reason.HARD_BOUNCE,
                                detail=f"SMTP {exc.code} {exc.reply}"[:500])
        self.unchecked += len(outcomes)
        self._error_budget_check()

    def _error_budget_check(self, *, final: bool = False) -> None:
        """Look at the range's error budget every CHUNK outcomes (and at the end), but
        only if this runner recorded a failure or bounce since the last look: without
        one, the share of failures can only have fallen, and the aggregate over the
        range is the costliest statement of a clean send."""
        if not (final or self.unchecked >= CHUNK):
            return
        if self.unchecked_bad:
            _error_budget_check(self.send.pk, self.low_id, self.high_id)
        self.unchecked = self.unchecked_bad = 0

    def _outcome(self, result: Result) -> ledger.Outcome | None:
        conn, job = result.connection, result.job
        if result.accepted is not None:
            conn.pacer.accepted()
            return ledger.outcome_sent(job.row, conn.owner, code=result.accepted.code,
                                       reply=result.accepted.reply, message_id=job.message_id)
        exc = delivery_error(result)
        if exc is None:  # a fault before any byte was sent (e.g. DKIM): pause the send
            assert result.error is not None
            self.report.fault = fault_from(result.error)
            self.report.stopped = self.report.fault.reason
            return None
        if isinstance(exc, ConnectError):
            # About the route, not this recipient: no attempt is counted; the row keeps
            # the reply (progress shows it) and waits with the rest of every connection.
            self._release_all(ledger.retry_delay(1))
            self.report.stopped = f"SMTP unreachable: {exc}"
        elif not exc.permanent:
            wait = conn.pacer.deferred()
            if self.route.rate > 0:  # every worker on the route slows down, not just this one
                token_debt(route_bucket_key(self.route.bucket), wait * self.route.rate)
        return ledger.outcome_failure(
            job.row, conn.owner, permanent=exc.permanent, bounce=exc.permanent and exc.recipient,
            code=exc.code, reply=exc.reply or str(exc), message_id=job.message_id,
            maybe_delivered=exc.maybe_delivered,
            counts_as_attempt=not isinstance(exc, ConnectError))

    def _release_all(self, delay: timedelta) -> None:
        for conn in self.conns:
            if conn.rows:
                ledger.delivery_release([r.id for r in conn.rows], conn.owner, delay=delay)
                conn.rows.clear()
            conn.drained = True


def outcome_email(done: list[Result], delivery_id: int) -> str:
    return next(r.job.row.email for r in done if r.job.row.id == delivery_id)


def _recheck(send: Send, claimed: list[ledger.Claimed]) -> dict[int, tuple[str, str]]:
    """subscriber id -> (name, organisation) for those still in the audience now
    (DESIGN.md invariant 4: unsubscribed or suppressed since planning -> skipped).

    Other sends of the issue are looked at only if there are any: most issues have one
    send, and the check costs a join over the ledger per claim (7 ms per claim of 500
    in the 50,000-recipient benchmark). A send planned from now on cannot reach the
    people claimed here: planning leaves out the unfinished rows of active sends."""
    ids = [c.subscriber_id for c in claimed if c.subscriber_id is not None]
    others = Send.objects.filter(issue_id=send.issue_id).exclude(pk=send.pk).exists()
    rows = (audience_queryset(send, at_send_time=True, others_reached=others, among=ids)
            .values_list("pk", "name", "organisation"))
    return {pk: (name, org) for pk, name, org in rows}


def _lists_now(send: Send, claimed: list[ledger.Claimed]) -> dict[int, set[int]]:
    """subscriber id -> the send's lists they are confirmed on now. A person who left the
    list a delivery was planned through, but is still on another list of the send, gets
    the message through a list they are still on (its List-Id, its unsubscribe link)."""
    ids = [c.subscriber_id for c in claimed if c.subscriber_id is not None]
    lists: dict[int, set[int]] = {}
    for sub_id, list_id in Subscription.objects.filter(
            subscriber_id__in=ids, status=Subscription.Status.CONFIRMED,
            mailing_list__in=send.lists.all()).values_list("subscriber_id", "mailing_list_id"):
        lists.setdefault(sub_id, set()).add(list_id)
    return lists


def _list_for(row: ledger.Claimed, lists_now: dict[int, set[int]]) -> int | None:
    current = lists_now.get(row.subscriber_id or 0, set())
    if row.mailing_list_id in current or not current:
        return row.mailing_list_id
    return min(current)


def _batch_mark(send_id: int, low_id: int, status: str, **extra: object) -> None:
    SendBatch.objects.filter(send_id=send_id, low_id=low_id).update(
        status=status, touched_at=timezone.now(), **extra)


def _error_budget_check(send_id: int, low_id: int, high_id: int) -> None:
    """Pause the send when too many of this range's outcomes are permanent failures —
    refusals, bounces, retries that ran out (listmonk's 'pause after N errors'; a broken
    relay or a stale list should stop, not churn). Deferrals still being retried do not
    count: a throttling relay slows a send down, it does not stop it."""
    budget = settings.SEND_ERROR_BUDGET
    if budget <= 0:
        return
    agg = Delivery.objects.filter(send_id=send_id, id__gte=low_id, id__lte=high_id).aggregate(
        ok=Count("id", filter=Q(status=D.SENT)),
        bad=Count("id", filter=Q(status__in=(D.FAILED, D.BOUNCED))))
    done = agg["ok"] + agg["bad"]
    if done >= MIN_OUTCOMES_FOR_BUDGET and agg["bad"] / done > budget:
        reason = (f"paused automatically: {agg['bad']} of {done} recent deliveries failed for "
                  f"good or bounced (error budget {budget:.0%}); nothing else was tried since, "
                  "the rest wait unsent. Check the SMTP replies with send_report, then resume "
                  "with send_control ID resume")
        if send_transition(send_id, Send.Status.PAUSED, reason=reason):
            log.warning("send %s: %s", send_id, reason)


def batch_settle(send_id: int, low_id: int, high_id: int) -> None:
    """Record whether the range is finished, waiting for retries, or still busy."""
    rows = Delivery.objects.filter(send_id=send_id, id__gte=low_id, id__lte=high_id)
    busy = rows.filter(status__in=(D.PENDING, D.SENDING)).exists()
    due = rows.filter(status=D.RETRYING).aggregate(due=Min("next_attempt_at"))["due"]
    if not busy and due is None:
        _batch_mark(send_id, low_id, SendBatch.Status.DONE, due_at=None)
    elif not busy:
        _batch_mark(send_id, low_id, SendBatch.Status.WAITING, due_at=due)


def batch_retry_in(send_id: int, low_id: int, horizon: float = SHORT_RETRY_HORIZON,
                   ) -> float | None:
    """Seconds until the range's next retry is due, if it is waiting and due within
    ``horizon``; None otherwise (the reconciler will pick longer waits up)."""
    batch = SendBatch.objects.filter(send_id=send_id, low_id=low_id,
                                     status=SendBatch.Status.WAITING).first()
    if batch is None or batch.due_at is None:
        return None
    delay = max((batch.due_at - timezone.now()).total_seconds(), 0.0)
    return delay if delay <= horizon else None


def batch_orphan_adopt(send_id: int) -> tuple[int, int] | None:
    """A running batch of the send whose heartbeat went silent (its worker died): this
    worker takes it over at once instead of leaving it to the reconciler, which would
    queue it behind every batch still waiting. The takeover counts the death as the
    reconciler would; a batch at the crash-loop limit is left to the reconciler, which
    pauses the send. Returns the (low, high) ids taken over, or None."""
    stale = timezone.now() - timedelta(seconds=settings.SEND_LEASE_SECONDS)
    batch = (SendBatch.objects.filter(
        send_id=send_id, send__status=Send.Status.SENDING, status=SendBatch.Status.RUNNING,
        touched_at__lt=stale, worker_deaths__lt=settings.SEND_WORKER_DEATHS_PAUSE - 1)
        .order_by("low_id").values_list("pk", "low_id", "high_id").first())
    if batch is None:
        return None
    pk, low_id, high_id = batch
    # Conditional: of two workers finishing at once, one takes it over.
    won = SendBatch.objects.filter(pk=pk, status=SendBatch.Status.RUNNING,
                                   touched_at__lt=stale).update(
        touched_at=timezone.now(), worker_deaths=F("worker_deaths") + 1) == 1
    return (low_id, high_id) if won else None


def send_finish_if_complete(send_id: int) -> bool:
    """Move a sending send to done once no row is unfinished. True if this call did."""
    if Delivery.objects.filter(send_id=send_id, status__in=ledger.UNFINISHED).exists():
        return False
    return send_transition(send_id, Send.Status.DONE)
