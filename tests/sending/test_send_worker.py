"""End to end through a real Celery worker process, real Redis and a real SMTP sink."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_start
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from tests.sending.conftest import (
    ROOT,
    WorkerProcess,
    sink_read,
    subscribe,
    subscriber_make,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def send_status(send_id: int) -> str:
    return Send.objects.get(pk=send_id).status


def test_it_delivers_exactly_one_standard_message_per_distinct_recipient(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, worker_factory: Callable[..., WorkerProcess],
        standards: Callable[[bytes], EmailMessage], settings: Any) -> None:
    for i in range(30):  # more overlap, and several batches
        sub = subscriber_make(f"both{i}@example.net", f"Участник {i}", "ru" if i % 2 else "en")
        subscribe(sub, lists["partners"])
        subscribe(sub, lists["public"])
    settings.SEND_BATCH_SIZE = 8
    worker = worker_factory()
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)  # batches are published on commit, to the worker's Redis db

    wait_until(lambda: send_status(send.pk) == "done", what="the send to finish",
               worker=worker)
    received = Counter(sink_read(p)[1] for p in sink.messages())
    assert received == Counter(Delivery.objects.filter(send=send).values_list("email", flat=True))
    assert len(received) == 34 and set(received.values()) == {1}
    for path in sink.messages():
        standards(sink_read(path)[2])


def test_it_waits_with_a_progress_bar_and_prints_the_send_id_last(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, worker_factory: Callable[..., WorkerProcess],
        worker_env: dict[str, str]) -> None:
    worker_factory()
    done = subprocess.run(
        [sys.executable, "-m", "mailer.cli", "send_issue", str(issue.pk), "--list", "partners",
         "--list", "public", "--wait", "--timeout", "45"],
        cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    send = Send.objects.get(pk=int(lines[-1]))
    assert send.status == "done" and "sent 4, failed 0" in lines[-2]
    assert "100.0%" in done.stderr and "[#" in done.stderr
