"""Sending: plan a send into the Delivery ledger, then deliver it in id-range batches.

Map of the package (DESIGN.md, "The send pipeline and its invariants"):

- ``state``      the one function that changes ``Send.status`` (conditional UPDATE);
- ``planning``   ``send_create``, ``send_plan`` (one INSERT ... SELECT), ``send_start``;
- ``approval``   ``send_go``: the one gate (start, schedule or hold for approval) for the
                 staff app, API, ``send_issue`` and a scheduled send's start;
- ``dispatch``   batches to Celery, on commit, ids only;
- ``delivery``   the ledger: claim (SKIP LOCKED / IMMEDIATE), lease expiry, outcomes;
- ``runner``     one batch over one reused SMTP connection (the ``send_batch`` task);
- ``compose`` / ``mime``  compile once per variant, pre-encoded QP, per-recipient splice;
- ``smtp``       the connection and the classification of its failures;
- ``verp``       signed bounce addresses; ``ratelimit`` the Redis token bucket;
- ``reconcile``  the self-healing pass (beat, and at worker start);
- ``faults``     failures about the send: release, pause with the reason;
- ``control``, ``progress``, ``report``  staff controls, counters, delivery log.

Decisions worth knowing (and why):

- Outcomes are committed one message at a time (duplicate window: the one message
  in flight per connection), with ``synchronous_commit = off`` on PostgreSQL for
  that connection: waiting for a WAL flush per message capped a worker at a few
  hundred messages/s. A worker crash loses nothing committed; only a PostgreSQL
  crash could lose the last ~0.6 s of outcomes, whose rows are then re-sent after
  their lease and flagged ``possibly_duplicated``.
- A worker sends its claimed rows in id order and records each before the next,
  so when a lease expires only the lowest unrecorded row of that owner can have
  been on the wire; only that row is flagged ``possibly_duplicated``. So is a row
  whose connection died after its whole message was sent and before the answer.
- A rate-limit bucket that cannot reach Redis waits up to a minute for it (the
  worker keeps its claimed rows); then it is a fault of the send (``faults``).
- A failure about the send rather than one recipient (DKIM key, layout, a rate
  without Redis, Redis away, anything unexpected) hands the batch's rows back
  unflagged and pauses the send with a reason naming cause and fix (``faults``).
- ``SendBatch`` rows record when a batch's task was last queued or seen working,
  so the reconciler re-enqueues lost tasks (Redis restart, killed worker) without
  flooding the queue with copies of live ones.
- The ledger keeps few indexes (each is written twice per message): a partial
  index over unfinished rows serves the claim query.
- PIPELINING (RFC 2920) and pre-dot-stuffed bodies save two round trips and a
  50 KB regex scan per message.
"""
