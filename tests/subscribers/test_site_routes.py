"""The public audience routes as the site serves them (the project's own URLconf)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.tokens import preferences_token, unsubscribe_token


def test_it_serves_one_click_unsubscribe_at_the_site_root(
        people: dict[str, Subscriber], public_list: MailingList, subscribe: Any) -> None:
    aida = people["aida"]
    subscribe(aida, public_list)
    response = Client(enforce_csrf_checks=True).post(
        f"/u/{unsubscribe_token(aida.pk, public_list.pk)}/", "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Subscription.objects.get(subscriber=aida).status == "unsubscribed"


def test_it_serves_the_preferences_page_at_the_site_root(people: dict[str, Subscriber]) -> None:
    response = Client().get(f"/p/{preferences_token(people['aida'].pk)}/")
    assert response.status_code == 200
    assert b"aida@ngo.kz" in response.content


def test_it_serves_the_subscribe_page_at_the_site_root(public_list: MailingList) -> None:
    assert Client().get("/subscribe/news/").status_code == 200
