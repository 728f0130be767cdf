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
from tests.sending.conftest import WorkerProcess, sink_read, wait_until

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


def test_it_delivers_to_everyone_after_a_worker_is_killed_mid_send(
        issue: Issue, lists: dict[str, MailingList], sink: SinkServer,
        worker_factory: Callable[..., WorkerProcess], settings: Any) -> None:
    audience_bulk(lists["public"], 2000)
    settings.SEND_BATCH_SIZE = 200
    first = worker_factory()
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    wait_until(lambda: sent_count(send.pk) >= 300, what="some mail to go out", worker=first)
    first.kill()
    killed_at = time.monotonic()
    # The dead worker's rows stay leased until SEND_LEASE_SECONDS (10 s here) pass;
    # the next worker's start-up reconcile then re-enqueues that batch.
    time.sleep(max(0.0, 11 - (time.monotonic() - killed_at)))
    second = worker_factory()
    wait_until(lambda: status(send.pk) == "done", timeout=55, what="the send to finish",
               worker=second)

    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert set(received) == {f"r{i}@load.example" for i in range(2000)}
    duplicated = {addr for addr, n in received.items() if n > 1}
    assert len(duplicated) <= 1 and set(received.values()) <= {1, 2}  # one killed connection
    flagged = set(Delivery.objects.filter(send=send, possibly_duplicated=True)
                  .values_list("email", flat=True))
    assert duplicated <= flagged and len(flagged) <= 1


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
                                        "451 4.3.0 try later"],
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
