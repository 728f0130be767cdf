"""Preflight: a send that could not go out as things stand is refused before any row is
planned or claimed, with the reason; web, API, CLI and the scheduler all ask it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from mailer.issues.models import Issue, IssueVariant
from mailer.sending.models import Delivery, Route, Send
from mailer.sending.planning import send_create, send_start
from mailer.sending.preflight import PreflightRefused
from mailer.sending.reconcile import sends_reconcile
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db
DKIM_DIR = Path(__file__).resolve().parents[1] / "signing"


@pytest.fixture
def bad_dkim_key(tmp_path: Path, settings: Any) -> Iterator[Path]:
    path = tmp_path / "dkim.pem"
    path.write_text("not a key\n")
    settings.DKIM_PRIVATE_KEY_PATH = str(path)
    dkim_key.cache_clear()
    yield path
    dkim_key.cache_clear()


def refused(send: Send, match: str) -> str:
    with pytest.raises(PreflightRefused, match=match):
        send_start(send.pk)
    send.refresh_from_db()
    assert not Delivery.objects.filter(send=send).exists()
    return send.status_reason


def test_it_refuses_a_send_whose_dkim_key_does_not_parse_and_keeps_the_draft(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, bad_dkim_key: Path) -> None:
    send = send_create(issue, [lists["public"]])
    reason = refused(send, "is not a PEM private key")
    assert send.status == Send.Status.DRAFT
    assert reason.startswith(f"not started: the DKIM key at {bad_dkim_key}")
    assert "nothing was planned or sent" in reason


def test_it_refuses_a_route_rate_when_there_is_no_redis(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, settings: Any) -> None:
    settings.REDIS_URL = ""
    route = Route.objects.create(name="bulk", url=f"smtp://127.0.0.1:{sink.port}",
                                 rate_per_second=10)
    send = send_create(issue, [lists["public"]], smtp_route=route)
    refused(send, r"SMTP route 'bulk' limits sending to 10 messages/s, but REDIS_URL is empty")


def test_it_refuses_a_rate_when_redis_does_not_answer(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.SEND_RATE_PER_SECOND = 10.0
    send = send_create(issue, [lists["public"]])
    refused(send, r"Redis \(REDIS_URL\), which holds the shared rate limits, does not answer")


def test_it_refuses_an_issue_that_no_longer_renders(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer) -> None:
    send = send_create(issue, [lists["public"]])
    variant = IssueVariant.objects.get(issue=issue, language="ru")
    variant.source_markdown = "---\nlayout: retired\n---\n" + variant.source_markdown
    variant.revision += 1
    variant.save()
    refused(send, r"the 'ru' version of the issue cannot be rendered .*'retired'")


def test_the_cli_says_why_and_that_nothing_was_sent(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, bad_dkim_key: Path) -> None:
    with pytest.raises(CommandError, match=r"not a PEM private key.*; nothing was sent"):
        call_command("send_issue", str(issue.pk), "--list", "public", stdout=io.StringIO())


def test_a_scheduled_send_that_fails_preflight_waits_with_the_reason_and_starts_once_fixed(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        sink: SinkServer, bad_dkim_key: Path, settings: Any) -> None:
    send = send_create(issue, [lists["public"]], scheduled_at=timezone.now() - timedelta(seconds=1))
    Send.objects.filter(pk=send.pk).update(status=Send.Status.SCHEDULED)
    sends_reconcile()
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED
    assert "DKIM key" in send.status_reason and "retried every minute" in send.status_reason

    settings.DKIM_PRIVATE_KEY_PATH = str(DKIM_DIR / "test-dkim-private.pem")
    dkim_key.cache_clear()
    assert sends_reconcile().started == 1
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING and send.status_reason == ""


def test_the_route_form_refuses_a_rate_without_redis(settings: Any) -> None:
    settings.REDIS_URL = ""
    with pytest.raises(ValidationError, match="A rate needs Redis"):
        Route(name="bulk", url="smtp://relay.example:25", rate_per_second=5).full_clean()
    Route(name="bulk", url="smtp://relay.example:25", rate_per_second=0).full_clean()
