"""Signing in: throttled against password guessing, sessions that expire, CSRF on the form."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.web.personas import PASSWORD


@pytest.fixture(autouse=True)
def empty_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(reverse("web:login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_it_signs_in_with_the_right_password(comms_user: User) -> None:
    client = Client()
    response = login(client, "casey", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("web:issues")).status_code == 200


def test_it_refuses_a_wrong_password_with_the_form_again(comms_user: User) -> None:
    response = login(Client(), "casey", "wrong")
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_it_locks_out_after_repeated_failures_even_with_the_right_password(
        comms_user: User, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        login(client, "casey", "guess")
    response = login(client, "casey", PASSWORD)
    assert response.status_code == 200
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_it_does_not_lock_out_the_same_user_from_another_address(
        comms_user: User, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        login(Client(), "casey", "guess", ip="10.0.0.66")
    assert login(Client(), "casey", PASSWORD, ip="10.0.0.2").status_code == 302


def test_it_limits_guessing_across_many_usernames_from_one_address(
        comms_user: User, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 4
    for n in range(4):
        login(Client(), f"user{n}", "guess", ip="10.0.0.9")
    response = login(Client(), "casey", PASSWORD, ip="10.0.0.9")
    assert b"Too many failed sign-in attempts" in response.content


def test_it_gives_the_session_an_expiry(comms_user: User, settings: Any) -> None:
    settings.SESSION_IDLE_SECONDS = 1800
    client = Client()
    login(client, "casey", PASSWORD)
    assert client.session.get_expiry_age() == 1800
    assert not client.session.get_expire_at_browser_close()


def test_it_signs_out_only_by_post(comms_client: Client) -> None:
    assert comms_client.get(reverse("web:logout")).status_code == 405
    comms_client.post(reverse("web:logout"))
    assert comms_client.get(reverse("web:issues")).status_code == 302


def test_it_enforces_csrf_on_the_login_form(comms_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"username": "casey", "password": PASSWORD})
    assert response.status_code == 403


def test_it_sends_anonymous_visitors_of_the_home_page_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:login")
