"""Progress counters come from the ledger in one pass; large sends share them briefly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending import progress
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_start
from mailer.sending.progress import send_progress
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
            ) -> Iterator[Send]:
    cache.clear()
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_start(send.pk)
    send.refresh_from_db()
    yield send
    cache.clear()


def ledger_queries(queries: CaptureQueriesContext) -> int:
    return sum(Delivery._meta.db_table in q["sql"] for q in queries.captured_queries)


def test_it_counts_every_outcome_in_one_pass_over_the_ledger(started: Send) -> None:
    rows = Delivery.objects.filter(send=started).order_by("id")
    ids = list(rows.values_list("id", flat=True))
    Delivery.objects.filter(pk=ids[0]).update(status="sent", sent_at=timezone.now(),
                                              possibly_duplicated=True)
    Delivery.objects.filter(pk=ids[1]).update(status="bounced")
    Delivery.objects.filter(pk=ids[2]).update(status="retrying")
    with CaptureQueriesContext(connection) as queries:
        p = send_progress(started.pk)
    assert ledger_queries(queries) == 1
    assert (p["planned"], p["sent"], p["bounced"], p["retrying"], p["pending"],
            p["possibly_duplicated"]) == (4, 1, 1, 1, 1, 1)
    assert p["throughput"] == round(1 / progress.THROUGHPUT_WINDOW_SECONDS, 1)


def test_a_small_sends_progress_shows_each_change_at_once(started: Send) -> None:
    assert send_progress(started.pk)["sent"] == 0
    Delivery.objects.filter(send=started).update(status="sent")
    assert send_progress(started.pk)["sent"] == 4


def test_a_large_sends_counts_are_shared_between_watchers_for_a_moment(
        started: Send, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PROGRESS_CACHE_MIN_ROWS", 1)
    first = send_progress(started.pk)
    with CaptureQueriesContext(connection) as queries:
        again = send_progress(started.pk)
    assert ledger_queries(queries) == 0 and again == first
    cache.delete(f"send-progress:{started.pk}")  # what the 2-second expiry does
    Delivery.objects.filter(send=started).update(status="sent")
    assert send_progress(started.pk)["sent"] == 4


def test_the_status_of_a_large_send_is_never_stale(
        started: Send, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PROGRESS_CACHE_MIN_ROWS", 1)
    send_progress(started.pk)
    Send.objects.filter(pk=started.pk).update(status=Send.Status.PAUSED, status_reason="paused")
    assert send_progress(started.pk)["status"] == "paused"
