"""The Delivery ledger's state changes: claim, lease expiry, outcomes.

Rules that keep mail from being lost or sent twice (DESIGN.md invariant 3):

- a row is claimed atomically (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; the
  IMMEDIATE transaction the settings configure on SQLite) with a lease and an owner;
- an outcome is written only by the lease owner (``WHERE lease_owner = me``), so a
  worker whose lease was taken over learns it and stops;
- each SMTP connection of a worker is an owner of its own (``HOST:PID:TOKEN:cN``); it
  sends its claimed rows in id order and its outcome is recorded before its next
  message, so when its lease expires only the lowest unrecorded row of that owner may
  have been on the wire: that row alone is flagged ``possibly_duplicated``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from mailer.sending.models import Delivery

D = Delivery.Status
UNFINISHED = (D.PENDING, D.SENDING, D.RETRYING)
FINAL = (D.SENT, D.FAILED, D.BOUNCED, D.SKIPPED)

# target status -> statuses a row may reach it from. Every function below that changes
# ``Delivery.status`` is a conditional UPDATE on these sources (plus the lease owner
# where a worker holds the row), so a late writer sees a row count of 0, not a clobber.
TRANSITIONS: dict[str, frozenset[str]] = {
    D.SENDING: frozenset({D.PENDING, D.RETRYING}),  # delivery_claim_batch
    D.PENDING: frozenset({D.SENDING}),  # released, never tried
    D.RETRYING: frozenset({D.SENDING, D.FAILED}),  # deferred, lease expired; retry-failed
    D.SENT: frozenset({D.SENDING}),
    D.FAILED: frozenset({D.SENDING}),
    D.BOUNCED: frozenset({D.SENDING, D.SENT}),  # RCPT 5xx; a bounce report after sending
    D.SKIPPED: frozenset({D.SENDING, D.PENDING, D.RETRYING}),  # left the audience; cancelled
}


@dataclass(frozen=True)
class Claimed:
    id: int
    subscriber_id: int | None
    email: str
    variant_id: int
    mailing_list_id: int | None
    attempts: int
    owner: str = ""


def _skip_locked() -> str:
    return " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""


def delivery_claim_batch(send_id: int, low_id: int, high_id: int, *, owner: str, limit: int,
                         lease_seconds: int | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due rows of the send with ids in [low_id, high_id].

    Due: pending, or retrying with ``next_attempt_at`` passed. Returns them in id
    order; an empty list means nothing in the range is claimable now.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=lease_seconds or settings.SEND_LEASE_SECONDS)
    t = Delivery._meta.db_table
    sql = (
        f"UPDATE {t} SET status = %s, lease_until = %s, lease_owner = %s, updated_at = %s "
        f"WHERE id IN (SELECT id FROM {t} WHERE send_id = %s AND id >= %s AND id <= %s "
        "AND (status = %s OR (status = %s AND next_attempt_at <= %s)) "
        f"ORDER BY id LIMIT %s{_skip_locked()}) "
        "RETURNING id, subscriber_id, email, variant_id, mailing_list_id, attempts, lease_owner")
    params: list[Any] = [D.SENDING, lease, owner, now, send_id, low_id, high_id, D.PENDING, D.RETRYING, now,
              limit]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def delivery_claim_for_connections(send_id: int, low_id: int, high_id: int, *,
                                   owners: list[str], limit: int, least: int = 1,
                                   ) -> list[Claimed]:
    """Claim up to ``limit`` due rows per owner (one owner per connection of a worker) in
    one statement. The claimed rows are cut into consecutive runs, one per owner, of an
    equal share but at least ``least`` rows, so that a few rows stay on one connection.
    Returns them in id order; ``Claimed.owner`` says whose each is."""
    if connection.vendor != "postgresql":
        return _claim_dealt_here(send_id, low_id, high_id, owners, limit, least)
    now = timezone.now()
    lease = now + timedelta(seconds=settings.SEND_LEASE_SECONDS)
    t = Delivery._meta.db_table
    # FOR UPDATE cannot sit beside a window function: lock in the inner query, number
    # the locked rows outside it.
    sql = (
        f"WITH picked AS (SELECT id FROM {t} WHERE send_id = %s AND id >= %s AND id <= %s "
        "AND (status = %s OR (status = %s AND next_attempt_at <= %s)) "
        "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED), "
        "numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n, "
        "GREATEST(%s, CEIL(count(*) OVER () / %s::numeric))::int AS share FROM picked) "
        f"UPDATE {t} AS d SET status = %s, lease_until = %s, "
        "lease_owner = (%s::text[])[n / share + 1], updated_at = %s "
        "FROM numbered WHERE d.id = numbered.id "
        "RETURNING d.id, d.subscriber_id, d.email, d.variant_id, d.mailing_list_id, d.attempts, "
        "d.lease_owner")
    params: list[Any] = [send_id, low_id, high_id, D.PENDING, D.RETRYING, now,
                         limit * len(owners), least, len(owners), D.SENDING, lease, owners, now]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _claim_dealt_here(send_id: int, low_id: int, high_id: int, owners: list[str],
                      limit: int, least: int) -> list[Claimed]:
    """``delivery_claim_for_connections`` for SQLite (no window function beside the
    claim): claim for the first owner, hand the later runs to the others, one
    transaction."""
    with transaction.atomic():
        claimed = delivery_claim_batch(send_id, low_id, high_id, owner=owners[0],
                                       limit=limit * len(owners))
        share = max(least, -(-len(claimed) // len(owners)))
        dealt: list[Claimed] = []
        for k, owner in enumerate(owners):
            run = claimed[k * share:(k + 1) * share]
            if k and run:
                Delivery.objects.filter(pk__in=[c.id for c in run]).update(lease_owner=owner)
            dealt += [replace(c, owner=owner) for c in run]
    return dealt


def delivery_leases_expire(send_id: int, low_id: int, high_id: int) -> int:
    """Give rows whose lease ran out back to the queue (status retrying, due now).

    The lowest such row of each dead owner may have been accepted by SMTP before
    its outcome was recorded: it is flagged ``possibly_duplicated`` and counted as
    an attempt. Returns the number of rows released.
    """
    now = timezone.now()
    with transaction.atomic():
        expired = list(
            Delivery.objects.filter(send_id=send_id, id__gte=low_id, id__lte=high_id,
                                    status=D.SENDING, lease_until__lt=now)
            .order_by("id").select_for_update(skip_locked=True).values_list("id", "lease_owner"))
        if not expired:
            return 0
        first_of_owner: dict[str, int] = {}
        for pk, owner in expired:
            first_of_owner.setdefault(owner, pk)
        ids = [pk for pk, _ in expired]
        Delivery.objects.filter(pk__in=ids, status=D.SENDING).update(
            status=D.RETRYING, next_attempt_at=now, lease_until=None, lease_owner="",
            updated_at=now)
        Delivery.objects.filter(pk__in=list(first_of_owner.values())).update(
            possibly_duplicated=True, attempts=F("attempts") + 1)
    return len(ids)


def _finish(pk: int, owner: str, **changes: object) -> bool:
    changes.setdefault("updated_at", timezone.now())
    return Delivery.objects.filter(pk=pk, lease_owner=owner, status=D.SENDING).update(
        lease_until=None, lease_owner="", **changes) == 1


CANCELLED_REPLY = "not sent: the send was cancelled"
STRANDED_REPLY = ("the send was cancelled while a worker that then stopped held this "
                  "message: it may or may not have been delivered")


def delivery_stranded_settle(send_id: int) -> int:
    """Rows of a cancelled send held by a worker that stopped (lease run out): nobody
    will claim them again. The lowest of each dead owner may have been on the wire, so it
    ends ``failed`` saying so; the others were never tried and end ``skipped``."""
    now = timezone.now()
    with transaction.atomic():
        stranded = list(
            Delivery.objects.filter(send_id=send_id, status=D.SENDING, lease_until__lt=now)
            .order_by("id").select_for_update(skip_locked=True).values_list("id", "lease_owner"))
        if not stranded:
            return 0
        first_of_owner: dict[str, int] = {}
        for pk, owner in stranded:
            first_of_owner.setdefault(owner, pk)
        maybe_sent = list(first_of_owner.values())
        Delivery.objects.filter(pk__in=maybe_sent, status=D.SENDING).update(
            status=D.FAILED, smtp_reply=STRANDED_REPLY, attempts=F("attempts") + 1,
            lease_until=None, lease_owner="", updated_at=now)
        Delivery.objects.filter(pk__in=[pk for pk, _ in stranded if pk not in set(maybe_sent)],
                                status=D.SENDING).update(
            status=D.SKIPPED, smtp_reply=CANCELLED_REPLY, lease_until=None, lease_owner="",
            updated_at=now)
    return len(stranded)


@dataclass(frozen=True)
class Outcome:
    """One finished attempt, to be recorded by ``delivery_outcomes_record``."""

    id: int
    owner: str
    status: str  # sent | retrying | failed | bounced
    code: int | None
    reply: str
    message_id: str
    attempts: int  # the row's attempts after this one
    next_attempt_at: datetime | None = None
    possibly_duplicated: bool = False


def outcome_sent(row: Claimed, owner: str, *, code: int, reply: str,
                 message_id: str) -> Outcome:
    return Outcome(row.id, owner, D.SENT, code, reply[:1000], message_id, row.attempts + 1)


def outcome_failure(row: Claimed, owner: str, *, permanent: bool, bounce: bool,
                    code: int | None, reply: str, message_id: str = "",
                    counts_as_attempt: bool = True, maybe_delivered: bool = False,
                    now: datetime | None = None) -> Outcome:
    """A refused or failed attempt: transient errors retry (with backoff) until
    SEND_MAX_ATTEMPTS. ``maybe_delivered`` (the connection died awaiting the answer to a
    complete message) flags the row ``possibly_duplicated``: a retry may be a second copy."""
    attempts = row.attempts + (1 if counts_as_attempt else 0)
    if bounce:
        status = D.BOUNCED
    elif permanent or attempts >= settings.SEND_MAX_ATTEMPTS:
        status = D.FAILED
    else:
        status = D.RETRYING
    next_at = (now or timezone.now()) + retry_delay(attempts) if status == D.RETRYING else None
    return Outcome(row.id, owner, status, code, reply[:1000], message_id, attempts, next_at,
                   maybe_delivered)


def delivery_outcomes_record(outcomes: list[Outcome]) -> set[int]:
    """Record the finished attempts of every connection of a worker in one statement
    (one round trip, one commit); returns the ids recorded. An id missing from the
    answer lost its lease (another worker owns the row now): its connection must stop.

    Each connection sends its next message only after its previous outcome is in this
    set, so a crash still leaves at most one unrecorded message per connection
    (DESIGN.md invariant 3) while the ledger sees one write per tick, not per message."""
    if not outcomes:
        return set()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return {o.id for o in outcomes if _outcome_record_one(o)}
    now = timezone.now()
    t = Delivery._meta.db_table
    row = "(%s::bigint, %s::text, %s::text, %s::integer, %s::text, %s::text, %s::integer, " \
          "%s::timestamptz, %s::boolean)"
    params: list[Any] = []
    for o in outcomes:
        params += [o.id, o.owner, o.status, o.code, o.reply, o.message_id, o.attempts,
                   o.next_attempt_at, o.possibly_duplicated]
    sql = (
        f"UPDATE {t} AS d SET status = v.status, smtp_code = v.code, smtp_reply = v.reply, "
        "message_id = v.message_id, attempts = v.attempts, next_attempt_at = v.next_at, "
        "sent_at = CASE WHEN v.status = %s THEN %s ELSE d.sent_at END, "
        "possibly_duplicated = d.possibly_duplicated OR v.dup, "
        "lease_until = NULL, lease_owner = '', updated_at = %s "
        f"FROM (VALUES {', '.join([row] * len(outcomes))}) "
        "AS v(id, owner, status, code, reply, message_id, attempts, next_at, dup) "
        "WHERE d.id = v.id AND d.lease_owner = v.owner AND d.status = %s RETURNING d.id")
    with connection.cursor() as cur:
        cur.execute(sql, [D.SENT, now, now, *params, D.SENDING])
        return {pk for (pk,) in cur.fetchall()}


def _outcome_record_one(o: Outcome) -> bool:
    now = timezone.now()
    flag = {"possibly_duplicated": True} if o.possibly_duplicated else {}
    sent = {"sent_at": now} if o.status == D.SENT else {}
    return _finish(o.id, o.owner, status=o.status, smtp_code=o.code, smtp_reply=o.reply,
                   message_id=o.message_id, attempts=o.attempts,
                   next_attempt_at=o.next_attempt_at, updated_at=now, **flag, **sent)


@contextmanager
def outcome_commits_relaxed() -> Iterator[None]:
    """On PostgreSQL, let this connection's commits return before the WAL is flushed.

    Every outcome is its own commit (the duplicate window must stay at about one
    message per connection, DESIGN.md invariant 3); waiting for an fsync per
    message would cap a worker at a few hundred messages a second. A committed
    outcome is still recorded if the worker dies; only a crash of PostgreSQL itself
    within ~0.6 s (3 x wal_writer_delay) could lose the latest outcomes, and those
    rows are then re-sent after their lease and flagged possibly_duplicated.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute("SET synchronous_commit TO DEFAULT")
        except DatabaseError:
            # A broken connection is discarded by Django anyway; keep the real error.
            connection.close()


def delivery_record_skipped(pk: int, owner: str, reason: str) -> bool:
    return _finish(pk, owner, status=D.SKIPPED, smtp_reply=reason)


def retry_delay(attempts: int) -> timedelta:
    """Jittered exponential backoff: base * 2^(attempts-1), capped at one hour, +-25 %."""
    base = settings.SEND_RETRY_BASE_SECONDS
    delay = min(base * 2 ** max(attempts - 1, 0), 3600.0)
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def delivery_release(ids: list[int], owner: str, *, delay: timedelta | None = None) -> int:
    """Hand back claimed rows that were never attempted (send paused, lease lost,
    SMTP unreachable), due again after ``delay``."""
    now = timezone.now()
    status = (Value(D.RETRYING) if delay else
              Case(When(attempts=0, then=Value(D.PENDING)), default=Value(D.RETRYING)))
    return Delivery.objects.filter(pk__in=ids, lease_owner=owner, status=D.SENDING).update(
        status=status,
        next_attempt_at=now + (delay or timedelta(0)), lease_until=None, lease_owner="",
        updated_at=now)


def delivery_release_owner(send_id: int, low_id: int, high_id: int, owner: str) -> int:
    """Hand back every row of the range that ``owner`` (or one of its connections)
    still holds, due now and not
    flagged: the caller knows none of their messages reached a socket (it stopped
    before sending them, or recorded the one it was sending)."""
    now = timezone.now()
    return Delivery.objects.filter(
        _held_by(owner), send_id=send_id, id__gte=low_id, id__lte=high_id, status=D.SENDING,
    ).update(status=Case(When(attempts=0, then=Value(D.PENDING)), default=Value(D.RETRYING)),
             next_attempt_at=now, lease_until=None, lease_owner="", updated_at=now)


def delivery_skip_unclaimed(send_id: int) -> int:
    """Rows of a cancelled send that nobody holds end ``skipped``: the ledger says who
    did not get the issue and why. Returns how many."""
    return Delivery.objects.filter(send_id=send_id, status__in=[D.PENDING, D.RETRYING]).update(
        status=D.SKIPPED, smtp_reply=CANCELLED_REPLY, next_attempt_at=None,
        updated_at=timezone.now())


def delivery_failed_reopen(send_id: int) -> int:
    """Staff retry the failed (not bounced) rows: each gets a full set of attempts again,
    due now. Returns how many rows were reopened."""
    now = timezone.now()
    return Delivery.objects.filter(send_id=send_id, status=D.FAILED).update(
        status=D.RETRYING, attempts=0, next_attempt_at=now, updated_at=now)


def delivery_bounced_after_sent(delivery_id: int, reply: str) -> bool:
    """An asynchronous bounce report (DSN) for a message the relay had accepted. Only a
    ``sent`` row changes, so a late report never rewrites another outcome."""
    return Delivery.objects.filter(pk=delivery_id, status=D.SENT).update(
        status=D.BOUNCED, smtp_reply=reply[:2000], updated_at=timezone.now()) == 1


def delivery_lease_extend(send_id: int, low_id: int, high_id: int, owner: str,
                          seconds: int | None = None) -> int:
    """Renew the leases in the range of ``owner`` and its connections (the heartbeat);
    returns rows renewed."""
    until = timezone.now() + timedelta(seconds=seconds or settings.SEND_LEASE_SECONDS)
    held = Delivery.objects.filter(_held_by(owner), send_id=send_id, id__gte=low_id,
                                   id__lte=high_id, status=D.SENDING)
    # The heartbeat runs beside the runner, whose grouped outcome write locks rows of the
    # same range in another order: waiting for them could deadlock the two (issue 14).
    # A row locked now is being recorded (its lease ends) or claimed: skip it, never wait.
    locked = held.order_by("id").select_for_update(skip_locked=True).values("id")
    with transaction.atomic():
        return Delivery.objects.filter(id__in=locked).update(lease_until=until)


def _held_by(owner: str) -> Q:
    """Rows held by ``owner`` or by one of its connections (owners ``OWNER:cN``)."""
    return Q(lease_owner=owner) | Q(lease_owner__startswith=f"{owner}:")
