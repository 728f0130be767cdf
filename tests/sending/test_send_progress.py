"""Progress counters come from the ledger in one pass; large sends share them briefly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
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


def quiet_for(send: Send, minutes: int) -> None:
    """No worker has claimed, sent or tried a row of the send for ``minutes``."""
    past = timezone.now() - timedelta(minutes=minutes)
    Send.objects.filter(pk=send.pk).update(updated_at=past)
    Delivery.objects.filter(send=send).update(updated_at=past)


def test_a_send_without_progress_for_the_configured_time_is_flagged_stalled(
        started: Send) -> None:
    quiet_for(started, minutes=6)  # SEND_STALL_WARNING_SECONDS is 5 minutes
    notices = send_progress(started.pk)["notices"]
    assert len(notices) == 1
    assert notices[0].startswith("stalled: no message sent or tried for 6 minutes")
    assert "check that workers are running" in notices[0]
    out = io.StringIO()
    call_command("send_status", str(started.pk), stdout=out)
    assert "Note: stalled: no message sent or tried for 6 minutes" in out.getvalue()


def test_a_send_that_moves_is_not_flagged_stalled(started: Send) -> None:
    quiet_for(started, minutes=2)
    assert send_progress(started.pk)["notices"] == []


def test_a_paused_send_is_not_flagged_stalled(started: Send) -> None:
    quiet_for(started, minutes=60)
    Send.objects.filter(pk=started.pk).update(status=Send.Status.PAUSED)
    assert send_progress(started.pk)["notices"] == []
