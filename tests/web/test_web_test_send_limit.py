"""Test sends go to any typed-in address, so each staff member has an hourly allowance."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue

pytestmark = pytest.mark.django_db


def post_test_send(client: Client, issue: Issue, addresses: str) -> str:
    response = client.post(reverse("web:issue-test-send", args=[issue.pk]),
                           {"addresses": addresses, "language": "en"}, follow=True)
    return response.content.decode()


def test_test_sends_stop_at_the_hourly_limit_and_say_so(comms_client: Client, issue: Issue,
                                                        smtp_sink: Any, settings: Any) -> None:
    cache.clear()
    settings.TEST_SEND_LIMIT_PER_HOUR = 3
    assert "Test sent to" in post_test_send(comms_client, issue, "a@example.org; b@example.org")
    page = post_test_send(comms_client, issue, "c@example.org; d@example.org")
    assert "Not sent: you have sent 3 test messages in the last hour" in page
    assert len(smtp_sink.messages()) == 2  # the refused request mailed nobody
    assert "Test sent to" in post_test_send(comms_client, issue, "c@example.org")
    assert len(smtp_sink.messages()) == 3


def test_the_allowance_is_per_person(comms_client: Client, admin_client: Client, issue: Issue,
                                     smtp_sink: Any, settings: Any) -> None:
    cache.clear()
    settings.TEST_SEND_LIMIT_PER_HOUR = 1
    assert "Test sent to" in post_test_send(comms_client, issue, "a@example.org")
    assert "Test sent to" in post_test_send(admin_client, issue, "b@example.org")
