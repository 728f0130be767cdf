"""A route cannot carry a worker's secrets away (issue 10, item 2): its password variable
is one set for it, AUTH never crosses the network unencrypted, its errors do not tell an
open port from a closed one, and no password appears in an error or a page."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from mailer.env import ConfigError
from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Route, Send, SendBatch
from mailer.sending.planning import send_create, send_start
from mailer.sending.preflight import PreflightRefused
from mailer.sending.runner import delivery_send_range
from mailer.sending.smtp import ConnectError, SmtpSession
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SinkServer]:
    server = SinkServer(tmp_path / "relay", port=free_port()).start()
    yield server
    server.stop()


def run_all(send: Send) -> None:
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)


@pytest.mark.parametrize("name", ["DATABASE_URL", "SECRET_KEY", "PARTNERS_PASSWORD",
                                  "smtp_password_partners", "SMTP_PASSWORD_"])
def test_it_refuses_a_password_variable_without_the_smtp_password_prefix(name: str) -> None:
    route = Route(name="partners", url="smtp+starttls://user@relay.example:587", password_env=name)
    with pytest.raises(ValidationError, match="must be named SMTP_PASSWORD_") as info:
        route.full_clean()
    assert "password_env" in info.value.message_dict


def test_it_refuses_a_password_variable_that_is_one_of_the_apps_settings(settings: object) -> None:
    settings.SMTP_PASSWORD_FALLBACK = "x"  # type: ignore[attr-defined]
    route = Route(name="partners", url="smtp+starttls://user@relay.example:587",
                  password_env="SMTP_PASSWORD_FALLBACK")
    with pytest.raises(ValidationError, match="application's own settings"):
        route.full_clean()


def test_it_accepts_a_prefixed_password_variable() -> None:
    Route(name="partners", url="smtp+starttls://user@relay.example:587",
          password_env="SMTP_PASSWORD_PARTNERS").full_clean()


def test_a_route_saved_with_another_variable_is_unusable_and_its_send_pauses_with_the_reason(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Saved before the rule existed (no full_clean): no migration renames it, it is refused
    # when a send starts (preflight) and, should it change under a running send, by the worker.
    monkeypatch.setenv("SECRET_KEY", "the-workers-secret")
    monkeypatch.setenv("SMTP_PASSWORD_OLD", "fine")
    route = Route.objects.create(name="old", url=f"smtp://127.0.0.1:{relay.port}",
                                 password_env="SECRET_KEY")
    refused = Send.objects.create(issue=issue, smtp_route=route)
    refused.lists.set([lists["public"]])
    with pytest.raises(PreflightRefused, match="must be named SMTP_PASSWORD_") as info:
        send_start(refused.pk)
    assert "the-workers-secret" not in str(info.value)
    Route.objects.filter(pk=route.pk).update(password_env="SMTP_PASSWORD_OLD")
    send = Send.objects.create(issue=issue, smtp_route=route)
    send.lists.set([lists["public"]])
    send_start(send.pk)
    Route.objects.filter(pk=route.pk).update(password_env="SECRET_KEY")
    run_all(send)
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED
    assert "must be named SMTP_PASSWORD_" in send.status_reason
    assert "the-workers-secret" not in send.status_reason
    assert relay.messages() == []
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"pending"}


def test_it_refuses_auth_over_plain_smtp_to_another_host() -> None:
    route = Route(name="partners", url="smtp://user@relay.example:25",
                  password_env="SMTP_PASSWORD_PARTNERS")
    with pytest.raises(ValidationError, match="unencrypted over smtp://"):
        route.full_clean()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_it_allows_auth_over_plain_smtp_to_a_loopback_relay(host: str) -> None:
    Route(name="local", url=f"smtp://user@{host}:2525",
          password_env="SMTP_PASSWORD_LOCAL").full_clean()


def test_a_send_through_a_plain_auth_route_is_refused_with_the_reason(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD_PARTNERS", "hunter2")
    route = Route.objects.create(name="partners", url="smtp://user@192.0.2.10:25",
                                 password_env="SMTP_PASSWORD_PARTNERS")
    send = Send.objects.create(issue=issue, smtp_route=route)
    send.lists.set([lists["public"]])
    with pytest.raises(PreflightRefused, match="unencrypted") as info:
        send_start(send.pk)
    assert "hunter2" not in str(info.value)
    send.refresh_from_db()
    assert send.status == Send.Status.DRAFT and not Delivery.objects.filter(send=send).exists()


@pytest.mark.parametrize("url", ["smtp://user:hunter2@relay.example:25",
                                 "smtp+starttls://user%3Ahunter2@relay.example:587"])
def test_it_refuses_a_password_in_the_url_also_percent_encoded_and_masks_it(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        Route(name="bad", url=url).full_clean()
    text = " ".join(info.value.messages)
    assert "Do not write the password into the URL" in text and "hunter2" not in text


def test_a_bad_url_is_refused_without_echoing_its_password() -> None:
    with pytest.raises(ValidationError) as info:
        Route(name="bad", url="smtp://user:hunter2@relay.example:99999").full_clean()
    text = " ".join(info.value.messages)
    assert "bad port" in text and "hunter2" not in text and "user:***@" in text


def test_the_admin_never_shows_a_routes_password_in_the_list_or_the_form(
        admin_client: Client) -> None:
    route = Route.objects.create(name="legacy",
                                 url="smtp+starttls://user:hunter2@relay.example:587")
    listing = admin_client.get("/admin/sending/route/").content.decode()
    assert "legacy" in listing and "hunter2" not in listing and "user:***@" in listing
    form = admin_client.get(f"/admin/sending/route/{route.pk}/change/").content.decode()
    assert "hunter2" not in form and "user:***@" in form


def _closed_port() -> int:
    return free_port()


@pytest.fixture
def not_smtp() -> Iterator[int]:
    """An open port speaking another protocol (like an internal SSH or Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.sendall(b"SSH-2.0-OpenSSH_9.6 internal-db-host\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def _connect_error(port: int) -> ConnectError:
    route = Route(name="probe", url=f"smtp://127.0.0.1:{port}?timeout=3").config()
    with pytest.raises(ConnectError) as info:
        SmtpSession(route).deliver("a@news.example.org", "b@example.org", b"x\r\n")
    return info.value


def test_route_errors_read_unreachable_alike_for_a_closed_and_an_open_non_smtp_port(
        not_smtp: int) -> None:
    closed, other = _connect_error(_closed_port()), _connect_error(not_smtp)
    for error in (closed, other):
        assert "is unreachable" in str(error) and error.reply == "unreachable"
    assert str(closed).replace(str(_port_of(closed)), "P") == \
        str(other).replace(str(_port_of(other)), "P")
    assert "SSH" not in str(other) and "refused" not in str(closed).lower()


def _port_of(error: ConnectError) -> int:
    return int(str(error).split(":")[1].split()[0])


def test_a_route_password_never_appears_in_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD_PARTNERS", "hunter2")
    route = Route(name="partners", url="smtp://user@relay.example:25",
                  password_env="SMTP_PASSWORD_PARTNERS")
    with pytest.raises(ConfigError) as info:
        route.config()
    assert "hunter2" not in str(info.value)


def test_a_new_send_cannot_choose_a_route_that_is_unusable(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    from mailer.sending.planning import PlanError

    route = Route.objects.create(name="old", url="smtp://relay.example:25", password_env="SECRET_KEY")
    with pytest.raises(PlanError, match="must be named SMTP_PASSWORD_"):
        send_create(issue, [lists["public"]], smtp_route=route)
