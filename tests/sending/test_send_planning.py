"""Planning freezes the audience into Delivery rows with one INSERT ... SELECT."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send, SendBatch
from mailer.sending.planning import (
    PLAN_COLUMNS,
    PlanError,
    plan_insert_sql,
    send_create,
    send_plan,
    send_start,
)
from subscribers.models import MailingList, Segment, Subscriber, Subscription
from subscribers.services import suppression_add
from tests.sending.conftest import subscribe, subscriber_make

pytestmark = pytest.mark.django_db


def emails(send: Send) -> set[str]:
    return set(Delivery.objects.filter(send=send).values_list("email", flat=True))


def test_it_plans_one_delivery_per_distinct_recipient_of_overlapping_lists(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"], lists["public"]])
    result = send_plan(send)
    assert result.planned == 4
    assert emails(send) == {"aida@ngo.kz", "bek@ngo.kg", "chris@un.org", "dina@gov.tj"}


def test_it_plans_with_a_single_insert_select(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"], lists["public"]])
    with CaptureQueriesContext(connection) as ctx:
        send_plan(send)
    inserts = [q["sql"] for q in ctx.captured_queries
               if q["sql"].startswith('INSERT INTO "sending_delivery"')
               or q["sql"].startswith("INSERT INTO sending_delivery")]
    assert len(inserts) == 1 and "SELECT" in inserts[0]


def test_planning_leaves_the_ledger_statistics_counting_the_new_send(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_plan(send)
    with connection.cursor() as cur:
        cur.execute("SELECT most_common_vals::text FROM pg_stats "
                    "WHERE tablename = 'sending_delivery' AND attname = 'send_id'")
        common = cur.fetchone()
    assert common is not None and str(send.pk) in common[0].strip("{}").split(",")


def test_it_fills_the_insert_columns_in_their_declared_order(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"], lists["partners"]])
    sql, _ = plan_insert_sql(send)
    assert [c.strip().strip('"') for c in sql.split("(", 1)[1].split(")", 1)[0].split(",")] \
        == list(PLAN_COLUMNS)
    send_plan(send)
    bek = Delivery.objects.get(send=send, subscriber=audience["bek"])
    en = issue.variants.get(language="en")
    assert (bek.send_id, bek.subscriber_id, bek.email, bek.variant_id, bek.mailing_list_id,
            bek.status, bek.attempts, bek.lease_owner, bek.smtp_reply, bek.message_id,
            bek.possibly_duplicated) == (
        send.pk, audience["bek"].pk, "bek@ngo.kg", en.pk,
        min(lists["partners"].pk, lists["public"].pk), "pending", 0, "", "", "", False)
    assert bek.updated_at is not None


def test_a_single_list_send_mails_everyone_through_that_list(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"]])
    result = send_plan(send)
    through = set(Delivery.objects.filter(send=send).values_list("mailing_list_id", flat=True))
    assert result.planned == Delivery.objects.filter(send=send).count() > 0
    assert through == {lists["public"].pk}


def test_the_planned_count_is_every_row_of_the_send_also_when_planned_twice(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"], lists["public"]])
    first = send_plan(send, batch_size=3)
    again = send_plan(send, batch_size=3)
    assert (first.inserted, again.inserted) == (4, 0)
    assert first.planned == again.planned == Send.objects.get(pk=send.pk).planned_count == 4


def test_it_leaves_out_unconfirmed_and_unsubscribed_members(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    subscribe(subscriber_make("new@x.org"), lists["partners"], "unconfirmed")
    Subscription.objects.filter(subscriber=audience["aida"]).update(status="unsubscribed")
    send = send_create(issue, [lists["partners"]])
    send_plan(send)
    assert emails(send) == {"bek@ngo.kg", "chris@un.org"}


def test_it_leaves_out_members_of_excluded_lists(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    subscribe(audience["chris"], lists["staff"])
    send = send_create(issue, [lists["partners"], lists["public"]], excluded_lists=[lists["staff"]])
    send_plan(send)
    assert "chris@un.org" not in emails(send) and len(emails(send)) == 3


def test_it_leaves_out_suppressed_addresses(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    suppression_add("dina@gov.tj", "hard_bounce")
    send = send_create(issue, [lists["public"]])
    send_plan(send)
    assert emails(send) == {"bek@ngo.kg", "chris@un.org"}


def test_it_leaves_out_blocklisted_subscribers(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    Subscriber.objects.filter(pk=audience["bek"].pk).update(status="blocklisted")
    send = send_create(issue, [lists["public"]])
    send_plan(send)
    assert emails(send) == {"chris@un.org", "dina@gov.tj"}


def test_it_chooses_the_variant_of_each_subscribers_language(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    subscribe(subscriber_make("kz@x.kz", language="kk"), lists["public"])
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_plan(send)
    langs = dict(Delivery.objects.filter(send=send).values_list("email", "variant__language"))
    assert langs == {"aida@ngo.kz": "ru", "dina@gov.tj": "ru", "bek@ngo.kg": "en",
                     "chris@un.org": "en", "kz@x.kz": "en"}


def test_it_plans_the_same_send_twice_without_duplicates(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"], lists["public"]])
    send_plan(send)
    again = send_plan(send)
    assert again.inserted == 0 and again.planned == 4
    assert Delivery.objects.filter(send=send).count() == 4


def test_it_cuts_batches_by_contiguous_id_ranges(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    for i in range(23):
        subscribe(subscriber_make(f"p{i}@x.org"), lists["public"])
    send = send_create(issue, [lists["public"]])
    result = send_plan(send, batch_size=5)
    batches = list(SendBatch.objects.filter(send=send).order_by("low_id"))
    assert result.batches == 5 and [b.size for b in batches] == [5, 5, 5, 5, 3]
    ids = sorted(Delivery.objects.filter(send=send).values_list("id", flat=True))
    covered = [i for b in batches for i in ids if b.low_id <= i <= b.high_id]
    assert covered == ids


def test_it_applies_the_segment_rule(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    segment = Segment.objects.create(slug="ru", name="Russian", rule="language = ru")
    send = send_create(issue, [lists["partners"], lists["public"]], segment=segment)
    send_plan(send)
    assert emails(send) == {"aida@ngo.kz", "dina@gov.tj"}


def test_it_fails_the_send_when_the_segment_rule_is_invalid(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    segment = Segment.objects.create(slug="bad", name="Bad", rule="language = = ru")
    send = send_create(issue, [lists["public"]], segment=segment)
    with pytest.raises(PlanError):
        send_start(send.pk)
    send.refresh_from_db()
    assert send.status == "failed" and "invalid rule" in send.status_reason
    assert not Delivery.objects.filter(send=send).exists()


def test_it_starts_a_send_by_planning_and_moving_it_to_sending(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"]])
    result = send_start(send.pk)
    send.refresh_from_db()
    assert result is not None and result.planned == 3
    assert send.status == "sending" and send.planned_count == 3 and send.started_at


def test_it_does_not_start_a_send_twice(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    assert send_start(send.pk) is None
