"""One issue reaches a person once, however many sends of it overlap."""

from __future__ import annotations

import pytest

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import audience_queryset, send_create, send_plan
from mailer.sending.runner import delivery_send_range
from mailer.sending.state import send_transition
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from tests.sending.conftest import subscriber_make

pytestmark = pytest.mark.django_db


def emails(send: Send) -> set[str]:
    return set(Delivery.objects.filter(send=send).values_list("email", flat=True))


def planned_send(issue: Issue, lists: list[MailingList]) -> Send:
    send = send_create(issue, lists)
    send_plan(send)
    for status in (Send.Status.PLANNING, Send.Status.SENDING):
        send_transition(send.pk, status)
    return send


def test_a_second_send_to_an_overlapping_list_skips_people_the_first_will_mail(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    planned_send(issue, [lists["partners"]])
    second = send_create(issue, [lists["public"]])
    send_plan(second)
    assert emails(second) == {"dina@gov.tj"}


def test_people_already_mailed_by_a_cancelled_send_are_skipped_but_the_rest_are_not(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    first = planned_send(issue, [lists["partners"]])
    Delivery.objects.filter(send=first, email="bek@ngo.kg").update(status=Delivery.Status.SENT)
    send_transition(first.pk, Send.Status.CANCELLED)
    second = send_create(issue, [lists["partners"], lists["public"]])
    send_plan(second)
    assert emails(second) == {"aida@ngo.kz", "chris@un.org", "dina@gov.tj"}


def test_another_issue_to_the_same_people_is_not_affected(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    planned_send(issue, [lists["partners"]])
    other = Issue.objects.create(slug="issue-4", title="Issue 4")
    other.variants.create(language="en", source_markdown="# Issue 4", subject="Issue 4")
    send = send_create(other, [lists["partners"]])
    send_plan(send)
    assert emails(send) == {"aida@ngo.kz", "bek@ngo.kg", "chris@un.org"}


def test_at_send_time_only_finished_mail_of_another_send_counts(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    first = planned_send(issue, [lists["partners"]])
    second = planned_send(issue, [lists["public"]])
    Delivery.objects.create(send=second, subscriber=audience["bek"], email="bek@ngo.kg",
                            variant=issue.variants.get(language="en"))
    recheck = set(audience_queryset(second, at_send_time=True).values_list("email", flat=True))
    assert "bek@ngo.kg" in recheck  # first has only planned bek: neither send may skip him
    Delivery.objects.filter(send=first, email="bek@ngo.kg").update(status=Delivery.Status.SENT)
    recheck = set(audience_queryset(second, at_send_time=True).values_list("email", flat=True))
    assert "bek@ngo.kg" not in recheck


def test_the_sender_skips_a_person_another_send_of_the_issue_mailed_after_planning(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer) -> None:
    first = planned_send(issue, [lists["partners"]])
    second = planned_send(issue, [lists["public"]])
    Delivery.objects.create(send=second, subscriber=audience["bek"], email="bek@ngo.kg",
                            variant=issue.variants.get(language="en"))
    Delivery.objects.filter(send=first, email="bek@ngo.kg").update(status=Delivery.Status.SENT)
    ids = Delivery.objects.filter(send=second).values_list("id", flat=True)
    delivery_send_range(second.pk, min(ids), max(ids))
    assert Delivery.objects.get(send=second, email="bek@ngo.kg").status == "skipped"
    assert Delivery.objects.get(send=second, email="dina@gov.tj").status == "sent"


def test_the_send_time_recheck_of_some_people_answers_as_the_whole_audience_does(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = planned_send(issue, [lists["partners"], lists["public"]])
    everyone = set(audience_queryset(send, at_send_time=True).values_list("pk", flat=True))
    stranger = subscriber_make("eve@example.org")  # on no list of the send
    some = [audience["bek"].pk, audience["dina"].pk, stranger.pk]
    among = audience_queryset(send, at_send_time=True, among=some).values_list("pk", flat=True)
    assert set(among) == everyone & set(some)
