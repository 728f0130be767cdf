"""Crash and duplicate-delivery behaviour with real worker processes, Redis and SMTP."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from mailer.issues.models import Issue
from mailer.sending import dispatch
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.services import is_suppressed
from tests.sending.conftest import (
    BeatProcess,
    PrivateRedis,
    WorkerProcess,
    celery_broker_use,
    sink_read,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def audience_bulk(mlist: MailingList, n: int) -> None:
    subs = Subscriber.objects.bulk_create(
        [Subscriber(email=f"r{i}@load.example", email_hash=email_hash(f"r{i}@load.example"),
                    name=f"Reader {i}") for i in range(n)], batch_size=1000)
    Subscription.objects.bulk_create(
        [Subscription(subscriber=s, mailing_list=mlist, status="confirmed") for s in subs],
        batch_size=1000)


def sent_count(send_id: int) -> int:
    return Delivery.objects.filter(send_id=send_id, status="sent").count()


def status(send_id: int) -> str:
    return Send.objects.get(pk=send_id).status


def test_a_killed_workers_rows_move_again_within_about_a_minute(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, settings: Any,
        send_queue_name: str, worker_factory: Callable[..., WorkerProcess],
        beat_factory: Callable[..., BeatProcess]) -> None:
    """SIGKILL (what an out-of-memory kill or a segfault looks like) of one of two
    workers at 20 % of a 5,000 send, default lease and reconcile settings: the dead
    worker's rows are re-queued once its heartbeat has been silent for a lease."""
    audience_bulk(lists["public"], 5000)
    settings.SEND_BATCH_SIZE = 250
    victim = worker_factory(queues=f"{send_queue_name},celery")
    survivor = worker_factory(queues=f"{send_queue_name},celery")
    beat = beat_factory()
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    assert victim.proc is not None
    held_by_victim = Delivery.objects.filter(send=send, status="sending",
                                             lease_owner__contains=f":{victim.proc.pid}:")
    wait_until(lambda: sent_count(send.pk) >= 1000 and held_by_victim.exists(),
               what="20 % sent while the victim holds rows", worker=victim, interval=0.05)
    victim.kill()
    killed_at = time.monotonic()
    held = list(held_by_victim.values_list("pk", flat=True))
    assert held and sent_count(send.pk) < 5000
    wait_until(lambda: not Delivery.objects.filter(pk__in=held, status="sending",
                                                   lease_owner__contains=f":{victim.proc.pid}:"
                                                   ).exists(),
               timeout=180, what="the killed worker's rows to move", worker=survivor)
    moved_after = time.monotonic() - killed_at
    print(f"\nthe killed worker's {len(held)} rows moved again {moved_after:.0f} s after SIGKILL")
    wait_until(lambda: status(send.pk) == "done", timeout=300, what="the send to finish",
               worker=survivor)

    assert beat.alive(), beat.log()
    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert set(received) == {f"r{i}@load.example" for i in range(5000)}
    # The killed process had SEND_CONNECTIONS_PER_WORKER connections, each with at most
    # one message on the wire whose outcome was not recorded: that many duplicates at most.
    killed_connections = settings.SEND_CONNECTIONS_PER_WORKER
    duplicated = {addr for addr, n in received.items() if n > 1}
    assert len(duplicated) <= killed_connections and set(received.values()) <= {1, 2}
    flagged = set(Delivery.objects.filter(send=send, possibly_duplicated=True)
                  .values_list("email", flat=True))
    assert duplicated <= flagged and len(flagged) <= killed_connections
    assert SendBatch.objects.filter(send=send, worker_deaths=1).count() == 1


def test_it_completes_the_send_when_redis_restarts_empty_mid_send(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, settings: Any,
        private_redis: PrivateRedis, send_queue_name: str,
        worker_factory: Callable[..., WorkerProcess],
        beat_factory: Callable[..., BeatProcess]) -> None:
    """Redis without persistence loses every queued task and the rate-limit buckets
    when it restarts; the ledger and the reconciler (run by a real beat) carry on."""
    audience_bulk(lists["public"], 2000)
    settings.SEND_BATCH_SIZE = 100
    settings.CELERY_BROKER_URL = settings.REDIS_URL = private_redis.url
    celery_broker_use(private_redis.url, {"visibility_timeout": 3600})
    env = {"CELERY_BROKER_URL": private_redis.url, "REDIS_URL": private_redis.url,
           "SEND_RATE_PER_SECOND": "250", "SEND_RECONCILE_SECONDS": "2"}
    worker = worker_factory(queues=f"{send_queue_name},celery", **env)
    beat = beat_factory(**env)
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    wait_until(lambda: sent_count(send.pk) >= 300, what="some mail to go out", worker=worker)

    assert private_redis.queued(send_queue_name) > 0
    private_redis.restart()
    assert private_redis.queued(send_queue_name) == 0  # every queued batch task is gone
    assert sent_count(send.pk) < 2000, "the send finished before Redis went down"
    wait_until(lambda: status(send.pk) == "done", timeout=120, what="the send to finish",
               worker=worker)

    assert beat.alive(), beat.log()
    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert set(received) == {f"r{i}@load.example" for i in range(2000)}
    assert set(received.values()) == {1}
    assert Delivery.objects.filter(send=send).exclude(status="sent").count() == 0
    # The lost batch tasks were queued again by the reconciler, not by luck.
    assert SendBatch.objects.filter(send=send, enqueued_count__gt=1).exists()


def test_it_sends_once_when_every_batch_is_enqueued_twice(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer,
        worker_factory: Callable[..., WorkerProcess], settings: Any) -> None:
    audience_bulk(lists["public"], 400)
    settings.SEND_BATCH_SIZE = 50
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    with transaction.atomic():
        dispatch.batches_enqueue(send.pk, SendBatch.objects.filter(send=send))
    worker = worker_factory(concurrency=2)
    wait_until(lambda: status(send.pk) == "done", what="the send to finish", worker=worker)

    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert len(received) == 400 and set(received.values()) == {1}
    assert not Delivery.objects.filter(send=send, possibly_duplicated=True).exists()


def test_it_recovers_from_temporary_refusals_without_losing_mail(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        scripted_sink: Callable[..., SinkServer], worker_env: dict[str, str],
        worker_factory: Callable[..., WorkerProcess]) -> None:
    flaky = scripted_sink(data_replies=["451 4.3.0 try later", "421 4.3.2 closing", None,
                                        "451 4.3.0 try later"], drop_data=1,
                          rcpt_replies={"dina@gov.tj": "550 5.1.1 <dina@gov.tj>: no such user"})
    worker = worker_factory(SMTP_URL=f"smtp://127.0.0.1:{flaky.port}?timeout=5",
                            SEND_RETRY_BASE_SECONDS="1", SEND_ERROR_BUDGET="0")
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    wait_until(lambda: status(send.pk) == "done", what="the send to finish", worker=worker)

    received = Counter(sink_read(p)[1] for p in flaky.messages())
    assert sorted(received) == ["aida@ngo.kz", "bek@ngo.kg", "chris@un.org"]
    assert set(received.values()) == {1}
    outcomes = dict(Delivery.objects.filter(send=send).values_list("email", "status"))
    assert outcomes["dina@gov.tj"] == "bounced" and is_suppressed("dina@gov.tj")
    assert sum(Delivery.objects.filter(send=send).values_list("attempts", flat=True)) > 4
    # The connection dropped after a whole message was sent: that row alone is flagged.
    assert Delivery.objects.filter(send=send, possibly_duplicated=True).count() == 1


def test_sending_moves_again_soon_after_the_broker_restarts_empty(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, settings: Any,
        private_redis: PrivateRedis, send_queue_name: str,
        worker_factory: Callable[..., WorkerProcess],
        beat_factory: Callable[..., BeatProcess]) -> None:
    """Redis (the broker) killed at 20 % of a 3,000 send and restarted empty 3 s later,
    with beat running and default settings: whatever the worker had reserved and the
    queue held, sending moves again and every recipient is mailed once."""
    audience_bulk(lists["public"], 3000)
    settings.CELERY_BROKER_URL = settings.REDIS_URL = private_redis.url
    celery_broker_use(private_redis.url, {"visibility_timeout": 3600})
    env = {"CELERY_BROKER_URL": private_redis.url, "REDIS_URL": private_redis.url,
           "SEND_RATE_PER_SECOND": "250"}
    worker = worker_factory(concurrency=2, queues=f"{send_queue_name},celery", **env)
    beat = beat_factory(**env)
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    wait_until(lambda: sent_count(send.pk) >= 600, what="20 % sent", worker=worker,
               interval=0.05)
    private_redis.restart(down_seconds=3)
    back_at = time.monotonic()
    time.sleep(2)  # let the batches in flight finish with what they had claimed
    before = sent_count(send.pk)
    assert before < 3000, "the send finished before Redis went down"
    wait_until(lambda: sent_count(send.pk) > before + 100, timeout=600, interval=0.5,
               what="sending to move again", worker=worker)
    print(f"\nsending moved again {time.monotonic() - back_at:.0f} s after Redis came back")
    wait_until(lambda: status(send.pk) == "done", timeout=600, what="the send to finish",
               worker=worker)

    assert beat.alive(), beat.log()
    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert set(received) == {f"r{i}@load.example" for i in range(3000)}
    assert set(received.values()) == {1}


def test_a_batch_whose_worker_keeps_dying_pauses_the_send_instead_of_looping(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer, settings: Any,
        send_queue_name: str, worker_factory: Callable[..., WorkerProcess],
        beat_factory: Callable[..., BeatProcess]) -> None:
    """A crash loop (what a native crash on one message looks like), with real SIGKILLs
    and default lease, reconcile and death-limit settings."""
    from mailer.sending.control import send_resume

    audience_bulk(lists["public"], 100)
    settings.SEND_BATCH_SIZE = 100  # one batch
    slow = {"SEND_RATE_PER_SECOND": "5"}  # the batch outlives each worker
    beat = beat_factory(**slow)
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    for death in range(1, settings.SEND_WORKER_DEATHS_PAUSE + 1):
        worker = worker_factory(queues=f"{send_queue_name},celery", **slow)
        assert worker.proc is not None
        held = Delivery.objects.filter(send=send, status="sending",
                                       lease_owner__contains=f":{worker.proc.pid}:")
        wait_until(held.exists, timeout=180, what=f"worker {death} to hold rows", worker=worker)
        worker.kill()
    # The reconciler runs in a worker: a healthy one is there to notice the last death.
    healthy = worker_factory(queues=f"{send_queue_name},celery")
    wait_until(lambda: status(send.pk) == "paused", timeout=180, what="the send to pause",
               worker=healthy)

    reason = Send.objects.get(pk=send.pk).status_reason
    assert f"a worker process died {settings.SEND_WORKER_DEATHS_PAUSE} times on this batch" in reason
    assert sent_count(send.pk) < 100  # it stopped looping; the rest waits for a person
    send_resume(send.pk)
    wait_until(lambda: status(send.pk) == "done", timeout=300, what="the send to finish",
               worker=healthy)
    assert beat.alive(), beat.log()
    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert set(received) == {f"r{i}@load.example" for i in range(100)}
    # Each death may leave one message per connection of the killed process on the wire
    # unrecorded; the same row can be that message for several deaths in a row. Every
    # copy beyond the first is within that bound, and every row sent twice is flagged.
    killed_connections = settings.SEND_WORKER_DEATHS_PAUSE * settings.SEND_CONNECTIONS_PER_WORKER
    flagged = set(Delivery.objects.filter(send=send, possibly_duplicated=True)
                  .values_list("email", flat=True))
    assert {addr for addr, n in received.items() if n > 1} <= flagged
    assert sum(received.values()) - 100 <= killed_connections
