"""Per-person engagement: segment conditions, the person's data download, erasure, and
retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mailer.engagement.intake import hits_flush_all
from mailer.engagement.models import Event
from mailer.engagement.report import send_engagement
from mailer.engagement.retention import events_expire
from mailer.issues.models import Issue
from mailer.sending.models import Send
from subscribers.models import MailingList, Subscriber
from subscribers.segments import SegmentError, segment_filter
from subscribers.services import subscriber_data, subscriber_erase
from tests.engagement.conftest import BROWSER, built, paths, planned
from tests.sending.conftest import subscribe, subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(issue: Issue, lists: dict[str, MailingList], client: Client) -> dict[str, Subscriber]:
    """On a per-person list: opener opens, clicker clicks, quiet does nothing; on an
    aggregate list: counted opens but nobody recorded."""
    lists["partners"].tracking_mode = "per-person"
    lists["partners"].save()
    people = {k: subscriber_make(f"{k}@example.net", k.title()) for k in
              ("opener", "clicker", "quiet", "anonymous")}
    for k in ("opener", "clicker", "quiet"):
        subscribe(people[k], lists["partners"])
    subscribe(people["anonymous"], lists["public"])
    send = planned(issue, [lists["partners"], lists["public"]])
    Send.objects.filter(pk=send.pk).update(started_at=timezone.now())
    client.get(paths(built(send, people["opener"]))[0], HTTP_USER_AGENT=BROWSER)
    client.get(paths(built(send, people["clicker"]))[1][0], HTTP_USER_AGENT=BROWSER)
    client.get(paths(built(send, people["anonymous"]))[0], HTTP_USER_AGENT=BROWSER)
    hits_flush_all()
    return people


def matching(rule: str) -> set[str]:
    return set(Subscriber.objects.filter(segment_filter(rule)).values_list("email", flat=True))


def test_segments_select_people_who_opened_or_clicked_recently(
        readers: dict[str, Subscriber]) -> None:
    assert matching("opened_within_days = 30") == {"opener@example.net", "clicker@example.net"}
    assert matching("clicked_within_issues = 3") == {"clicker@example.net"}
    assert "quiet@example.net" in matching("not opened_within_issues = 1")
    # aggregate tracking records nobody, so the anonymous reader never matches
    assert "anonymous@example.net" not in matching("opened_within_days = 30")


def test_a_segment_condition_without_a_number_is_refused_with_how_to_write_it() -> None:
    with pytest.raises(SegmentError, match="opened_within_days = N"):
        segment_filter("opened_within_days > 3")


def test_the_data_download_lists_the_persons_opens_and_clicks(
        readers: dict[str, Subscriber]) -> None:
    data = subscriber_data(readers["clicker"])
    (event,) = data["opens_and_clicks"]
    assert event["what"] == "click" and event["link"].startswith("https://")
    assert subscriber_data(readers["quiet"])["opens_and_clicks"] == []


def test_erasure_removes_the_persons_events(readers: dict[str, Subscriber]) -> None:
    opener = readers["opener"].pk
    assert Event.objects.filter(subscriber_id=opener).count() == 1
    assert Event.objects.count() == 3
    subscriber_erase(readers["opener"], actor="subscriber")
    assert not Event.objects.filter(subscriber_id=opener).exists()
    assert Event.objects.count() == 2  # the clicker's and the anonymous reader's


def test_retention_strips_old_per_person_events_and_keeps_the_counts(
        readers: dict[str, Subscriber], settings: object) -> None:
    send = Event.objects.first().send  # type: ignore[union-attr]
    before = send_engagement(send)
    Event.objects.update(at=timezone.now() - timedelta(days=400))
    assert events_expire() == 2
    assert not Event.objects.filter(subscriber__isnull=False).exists()
    after = send_engagement(send)
    assert (before.opens_unique, before.clicks_unique) == (3, 1)
    assert (after.opens_unique, after.clicks_unique) == (3, 1)
    assert matching("opened_within_days = 1000") == set()
