"""Tracking rules on built messages and on the pixel and click endpoints (Django's test
client against the real database; the worker path is in test_engagement_acceptance)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from mailer.engagement.intake import hits_flush_all
from mailer.engagement.models import Actor, Event, Hit, TrackedLink
from mailer.engagement.personalise import SendTracking
from mailer.engagement.report import send_engagement
from mailer.engagement.tokens import tracking_token
from mailer.issues.models import Issue
from mailer.sending.models import Delivery
from subscribers.models import MailingList, Subscriber
from tests.engagement.conftest import BROWSER, SITE, built, part, paths, planned
from tests.sending.conftest import subscribe, subscriber_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(lists: dict[str, MailingList]) -> dict[str, Subscriber]:
    lists["partners"].tracking_mode = "per-person"
    lists["partners"].save()
    lists["public"].tracking_mode = "off"
    lists["public"].save()
    both = subscriber_make("both@example.net", "Both Lists")
    only = subscriber_make("only@example.net", "Partner Only", country="KZ")
    subscribe(both, lists["partners"])
    subscribe(both, lists["public"])
    subscribe(only, lists["partners"])
    return {"both": both, "only": only}


def test_it_gives_a_person_on_several_lists_the_most_private_mode(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber]) -> None:
    send = planned(issue, [lists["partners"]])
    assert send.tracking_mode == "per-person"
    assert "/t/o/" not in part(built(send, people["both"]), "html")
    assert "/t/o/" in part(built(send, people["only"]), "html")


def test_modes_prefetched_for_claimed_people_need_no_query_when_built(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber],
        django_assert_num_queries: Any) -> None:
    send = planned(issue, [lists["partners"]])
    tracking = SendTracking(send)
    tracking.modes_prefetch([people["both"].pk, people["only"].pk, None])
    rows = list(Delivery.objects.filter(send=send).values_list("pk", "subscriber_id"))
    with django_assert_num_queries(0):
        modes = {sub: tracking.mode_for(pk, sub) for pk, sub in rows}
    assert modes == {people["both"].pk: "off", people["only"].pk: "per-person"}


def test_it_keeps_the_mode_frozen_at_planning_when_a_list_changes_later(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber]) -> None:
    send = planned(issue, [lists["partners"]])
    MailingList.objects.filter(pk=lists["partners"].pk).update(tracking_mode="off")
    assert "/t/o/" in part(built(send, people["only"]), "html")


def test_it_never_wraps_unsubscribe_preferences_or_list_unsubscribe_and_uses_the_same_links_in_text(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber]) -> None:
    msg = built(planned(issue, [lists["partners"]]), people["only"])
    html, text = part(msg, "html"), part(msg, "plain")
    assert "/t/" not in str(msg["List-Unsubscribe"])
    assert f'href="{SITE}/u/' in html and f'href="{SITE}/p/' in html
    assert f"{SITE}/u/" in text and f"{SITE}/p/" in text
    _, clicks = paths(msg)
    assert clicks and all(f"{SITE}{c}" in text for c in set(clicks))


def test_a_click_redirects_to_its_url_and_head_or_a_link_of_another_issue_counts_nothing(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber],
        client: Client) -> None:
    send = planned(issue, [lists["partners"]])
    _, clicks = paths(built(send, people["only"]))
    link_id = int(clicks[0].rstrip("/").rsplit("/", 1)[1])
    response = client.get(clicks[0], HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == TrackedLink.objects.get(pk=link_id).url
    assert client.head(clicks[0], HTTP_USER_AGENT=BROWSER).status_code == 302
    other = Issue.objects.create(slug="other", title="Other")
    foreign = TrackedLink.objects.create(issue=other, url="https://evil.example/", url_hash="x")
    response = client.get(clicks[0].replace(f"/{link_id}/", f"/{foreign.pk}/"))
    assert response.status_code == 404 and "Location" not in response
    assert Hit.objects.count() == 1


def test_a_token_signed_with_another_key_or_changed_counts_nothing(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber],
        client: Client, settings: Any) -> None:
    send = planned(issue, [lists["partners"]])
    pixel, clicks = paths(built(send, people["only"]))
    d = Delivery.objects.get(send=send, subscriber=people["only"])
    ours = settings.SECRET_KEY
    settings.SECRET_KEY = "another installation's key"
    foreign = tracking_token(send.pk, d.pk, "per-person", datetime.now(UTC))
    settings.SECRET_KEY = ours
    link_id = clicks[0].rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/t/c/{foreign}/{link_id}/").status_code == 404
    changed = pixel.replace(f"/{send.pk}.", f"/{send.pk + 1}.")
    assert client.get(changed).status_code == 200  # an image, but nothing recorded
    assert client.head(pixel).status_code == 200
    assert Hit.objects.count() == 0


def test_scanners_apple_proxy_and_clicks_without_images_are_counted_by_their_rules(
        issue: Issue, lists: dict[str, MailingList], client: Client) -> None:
    lists["partners"].tracking_mode = "aggregate"
    lists["partners"].save()
    readers = [subscriber_make(f"r{i}@example.net", f"R {i}") for i in range(4)]
    for r in readers:
        subscribe(r, lists["partners"])
    send = planned(issue, [lists["partners"]])
    px = [paths(built(send, r)) for r in readers]
    client.get(px[0][0], HTTP_USER_AGENT=BROWSER)  # a person opens
    client.get(px[0][0], HTTP_USER_AGENT=BROWSER)  # ... twice: still one
    client.get(px[1][1][0], HTTP_USER_AGENT=BROWSER)  # clicks without loading images
    client.get(px[2][0], HTTP_USER_AGENT="Mozilla/5.0")  # Apple Mail Privacy Protection
    client.get(px[3][0], HTTP_USER_AGENT="Mozilla/5.0 (compatible; Mimecast URL protect)")
    hits_flush_all()
    figures = send_engagement(send)
    assert (figures.opens_unique, figures.clicks_unique) == (2, 1)
    assert figures.opens_privacy_proxy == 1 and figures.opens_machine == 1
    assert figures.click_to_open == 0.5
    # aggregate mode stores nobody's id
    assert not Event.objects.filter(subscriber__isnull=False).exists()


def test_every_link_of_a_message_hit_within_seconds_of_delivery_is_a_machine(
        linked_issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber],
        client: Client) -> None:
    send = planned(linked_issue, [lists["partners"]])
    _, clicks = paths(built(send, people["only"]))
    distinct = list(dict.fromkeys(clicks))
    assert len(distinct) >= 3
    for url in distinct:  # a browser-like scanner behind a gateway follows every link
        client.get(url, HTTP_USER_AGENT=BROWSER)
    hits_flush_all()
    assert set(Event.objects.values_list("actor", flat=True)) == {Actor.MACHINE}
    assert send_engagement(send).clicks_unique == 0


def test_a_click_long_after_delivery_on_one_link_is_a_person(
        issue: Issue, lists: dict[str, MailingList], people: dict[str, Subscriber],
        client: Client) -> None:
    send = planned(issue, [lists["partners"]])
    _, clicks = paths(built(send, people["only"]))
    client.get(clicks[0], HTTP_USER_AGENT=BROWSER)
    Hit.objects.update(at=datetime.now(UTC) + timedelta(hours=2))
    hits_flush_all()
    (event,) = Event.objects.all()
    assert event.actor == Actor.PERSON and event.subscriber_id == people["only"].pk
    assert event.country == "KZ"
