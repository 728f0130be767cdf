"""Progress counters come from the ledger in one pass; large sends share them briefly."""

from __future__ import annotations

import io
import re
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
from mailer.sending.management.commands._common import progress_line
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_start
from mailer.sending.progress import send_progress
from subscribers.models import MailingList, Subscriber, Subscription, email_hash

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
    # One message just now: measured over at least a second, never over the whole window.
    assert p["throughput"] == 1.0


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


def sent_over(send: Send, rows: int, seconds: float, *, ending: timedelta = timedelta()) -> None:
    """The first ``rows`` deliveries were accepted evenly over ``seconds``, the last one
    ``ending`` ago."""
    last = timezone.now() - ending
    ids = list(Delivery.objects.filter(send=send).order_by("id").values_list("id", flat=True))
    for n, pk in enumerate(ids[:rows]):
        at = last - timedelta(seconds=seconds * (rows - 1 - n) / max(rows - 1, 1))
        Delivery.objects.filter(pk=pk).update(status="sent", sent_at=at)


def test_a_finished_send_shows_its_average_rate_over_first_to_last_message(
        started: Send) -> None:
    sent_over(started, 4, seconds=2.0, ending=timedelta(minutes=10))
    Send.objects.filter(pk=started.pk).update(status=Send.Status.DONE)
    p = send_progress(started.pk)
    assert (p["throughput"], p["throughput_kind"], p["duration_seconds"]) == (2.0, "average", 2.0)
    assert p["eta_seconds"] is None


def test_a_running_send_measures_its_rate_over_the_time_it_has_been_sending(
        started: Send) -> None:
    sent_over(started, 3, seconds=1.5)
    p = send_progress(started.pk)
    # 3 in the last 1.5 s: 2 a second (not 3 / 30 s = 0.1), so the last one takes ~0.5 s.
    assert p["throughput_kind"] == "live"
    assert 1.8 <= p["throughput"] <= 2.0
    assert p["eta_seconds"] is not None and p["eta_seconds"] < 1


def big_send(issue: Issue, lists: dict[str, MailingList], people: int) -> Send:
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"p{n}@ngo.example.org", email_hash=email_hash(f"p{n}@ngo.example.org"))
         for n in range(people)])
    Subscription.objects.bulk_create(
        [Subscription(subscriber=sub, mailing_list=lists["partners"], status="confirmed")
         for sub in Subscriber.objects.all()])
    send = send_create(issue, [lists["partners"]])
    send_start(send.pk)
    return send


def test_the_cli_line_of_a_fast_send_shows_its_real_rate_and_eta(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    send = big_send(issue, lists, 360)
    sent_over(send, 300, seconds=2.0)
    line = progress_line(send_progress(send.pk))
    rate = float(re.search(r"([\d.]+) msg/s", line)[1])  # type: ignore[index]
    eta = float(re.search(r"ETA (\d+)s", line)[1])  # type: ignore[index]
    assert rate >= 100 and eta <= 1, line  # ~150/s and 60 left: not "1 msg/s ETA 360s"


def test_the_cli_line_of_a_finished_send_shows_the_average_it_ran_at(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    send = big_send(issue, lists, 360)
    sent_over(send, 360, seconds=2.0)
    Send.objects.filter(pk=send.pk).update(status=Send.Status.DONE)
    assert progress_line(send_progress(send.pk)).endswith("avg 180 msg/s over 2.0s (done)")
