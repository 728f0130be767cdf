"""Several SMTP routes: a send goes through the one it names, with that route's rate
limit; a route that cannot be used pauses the send and says why."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from mailer.env import ConfigError
from mailer.issues.models import Issue
from mailer.sending import runner
from mailer.sending.models import Delivery, Route, Send, SendBatch
from mailer.sending.planning import PlanError, send_create, send_start
from mailer.sending.runner import delivery_send_range
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SinkServer]:
    """A second SMTP server, reached only through a named route."""
    server = SinkServer(tmp_path / "relay", port=free_port()).start()
    yield server
    server.stop()


def route_to(server: SinkServer, **fields: Any) -> Route:
    return Route.objects.create(name="partners-relay",
                                url=f"smtp://127.0.0.1:{server.port}?timeout=10", **fields)


def run_all(send: Send) -> None:
    for low, high in SendBatch.objects.filter(send=send).values_list("low_id", "high_id"):
        delivery_send_range(send.pk, low, high)


def test_a_send_goes_through_the_route_it_names(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, relay: SinkServer) -> None:
    send = send_create(issue, [lists["public"]], smtp_route=route_to(relay))
    send_start(send.pk)
    run_all(send)
    assert len(relay.messages()) == 3 and sink.messages() == []
    assert Send.objects.get(pk=send.pk).status == Send.Status.DONE


def test_a_send_without_a_route_uses_the_default_one(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, relay: SinkServer) -> None:
    route_to(relay)
    send = send_create(issue, [lists["public"]])
    send_start(send.pk)
    run_all(send)
    assert len(sink.messages()) == 3 and relay.messages() == []


def test_each_route_is_limited_by_its_own_bucket_and_rate(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, relay: SinkServer, monkeypatch: pytest.MonkeyPatch,
        settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"  # configured; the bucket is replaced below
    calls: list[tuple[str, float | None]] = []
    monkeypatch.setattr(runner, "rate_limit_wait",
                        lambda bucket, rcpt, rate=None, **_: calls.append((bucket, rate)) or 0.0)
    send = send_create(issue, [lists["public"]], smtp_route=route_to(relay, rate_per_second=5))
    send_start(send.pk)
    run_all(send)
    assert set(calls) == {("route:partners-relay", 5.0)} and len(calls) == 3


def test_the_password_comes_from_the_named_environment_variable(
        relay: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    route = route_to(relay, password_env="SMTP_PASSWORD_PARTNERS")
    monkeypatch.setenv("SMTP_PASSWORD_PARTNERS", "s3cret")
    assert route.config().password == "s3cret"
    monkeypatch.delenv("SMTP_PASSWORD_PARTNERS")
    with pytest.raises(ConfigError, match=r"SMTP_PASSWORD_PARTNERS .* is not set"):
        route.config()


def test_a_send_whose_route_cannot_be_used_pauses_and_says_why(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD_PARTNERS", "s3cret")  # preflight checks it at start
    send = send_create(issue, [lists["public"]],
                       smtp_route=route_to(relay, password_env="SMTP_PASSWORD_PARTNERS"))
    send_start(send.pk)
    monkeypatch.delenv("SMTP_PASSWORD_PARTNERS")  # the workers do not have it
    run_all(send)
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED and "SMTP_PASSWORD_PARTNERS" in send.status_reason
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"pending"}
    assert relay.messages() == []


def test_a_route_switched_off_mid_send_pauses_it(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer) -> None:
    route = route_to(relay)
    send = send_create(issue, [lists["public"]], smtp_route=route)
    send_start(send.pk)
    Route.objects.filter(pk=route.pk).update(is_active=False)
    run_all(send)
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED and "switched off" in send.status_reason


def test_a_send_cannot_start_when_its_route_password_is_missing(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_PASSWORD_PARTNERS", raising=False)
    send = send_create(issue, [lists["public"]],
                       smtp_route=route_to(relay, password_env="SMTP_PASSWORD_PARTNERS"))
    with pytest.raises(PlanError, match="SMTP_PASSWORD_PARTNERS"):
        send_start(send.pk)
    assert Send.objects.get(pk=send.pk).status == Send.Status.DRAFT


def test_a_new_send_cannot_choose_a_route_that_is_switched_off(
        issue: Issue, lists: dict[str, MailingList], relay: SinkServer) -> None:
    with pytest.raises(PlanError, match="switched off"):
        send_create(issue, [lists["public"]], smtp_route=route_to(relay, is_active=False))


@pytest.mark.parametrize("url, problem", [
    ("smtp://user:hunter2@relay.example:25", "Do not write the password into the URL"),
    ("http://relay.example", "is not an SMTP URL"),
    ("smtp://relay.example:99999", "bad port"),
])
def test_the_admin_refuses_an_unusable_route(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Route(name="bad", url=url).full_clean()


def test_send_issue_sends_through_a_named_route(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer) -> None:
    route = route_to(relay)
    out = io.StringIO()
    call_command("send_issue", str(issue.pk), "--list", "public", "--route", route.name,
                 stdout=out)
    assert Send.objects.get(pk=int(out.getvalue().split()[-1])).smtp_route == route


def test_send_issue_names_the_active_routes_when_the_route_is_unknown(
        issue: Issue, lists: dict[str, MailingList], relay: SinkServer) -> None:
    route_to(relay)
    with pytest.raises(CommandError, match=r"no active SMTP route 'bulk' \(active routes: "
                                           r"partners-relay\); nothing was sent"):
        call_command("send_issue", str(issue.pk), "--list", "public", "--route", "bulk",
                     stdout=io.StringIO())
    assert not Send.objects.exists()


def test_a_send_of_an_issue_that_cannot_be_rendered_pauses_and_says_why(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        relay: SinkServer) -> None:
    """Issue 10: a refused (formerly crashing) native compile pauses the send with the
    reason instead of failing each redelivered batch again."""
    send = send_create(issue, [lists["public"]], smtp_route=route_to(relay))
    send_start(send.pk)
    issue.variants.update(source_markdown="---\ntitle: x\n---\n" + "<b>" * 9200 + "x",
                          revision=99)
    run_all(send)
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED
    assert "cannot be rendered" in send.status_reason and "the limit is 100" in send.status_reason
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"pending"}
    assert relay.messages() == []
