"""A send's page says what the send did once it stopped, and how fast it really went."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailer.sending.models import Delivery, Send
from mailer.web import controls
from tests.web.test_web_sends import running_send  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def all_sent_over(send: Send, seconds: float) -> None:
    """Every row accepted, evenly over ``seconds``, ten minutes ago."""
    last = timezone.now() - timedelta(minutes=10)
    ids = list(send.deliveries.order_by("id").values_list("id", flat=True))
    for n, pk in enumerate(ids):
        at = last - timedelta(seconds=seconds * (len(ids) - 1 - n) / max(len(ids) - 1, 1))
        Delivery.objects.filter(pk=pk).update(status=Delivery.Status.SENT, sent_at=at)


def detail(client: Client, send: Send) -> str:
    return client.get(reverse("web:send-detail", args=[send.pk])).content.decode()


def test_a_finished_send_says_sent_with_its_average_rate_and_duration(
        comms_client: Client, running_send: Send) -> None:  # noqa: F811
    all_sent_over(running_send, seconds=1.5)  # 2 partners, 1.5 s apart
    Send.objects.filter(pk=running_send.pk).update(status=Send.Status.DONE)
    page = detail(comms_client, running_send)
    assert '<h1 id="headline">Sent “RETURNING HOME”</h1>' in page
    assert "Sending “" not in page
    assert '<span id="l-rate">Average per second</span><strong id="c-rate">1.3</strong>' in page
    assert '<span id="l-eta">Took</span><strong id="c-eta">2 s</strong>' in page


def test_a_cancelled_send_says_cancelled_and_why(
        comms_client: Client, running_send: Send) -> None:  # noqa: F811
    controls.send_cancel(running_send.pk, by="casey")
    page = detail(comms_client, running_send)
    assert '<h1 id="headline">Cancelled: “RETURNING HOME”</h1>' in page
    assert "cancelled by casey" in page


def test_a_running_send_shows_its_live_rate_and_time_left(
        comms_client: Client, running_send: Send) -> None:  # noqa: F811
    first = running_send.deliveries.order_by("id").first()
    assert first is not None
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.SENT,
                                                sent_at=timezone.now())
    page = detail(comms_client, running_send)
    assert '<h1 id="headline">Sending “RETURNING HOME”</h1>' in page
    assert '<span id="l-rate">Per second</span><strong id="c-rate">1.0</strong>' in page
    assert '<span id="l-eta">Time left</span><strong id="c-eta">1 s</strong>' in page


def test_the_live_json_carries_the_heading_and_counter_labels_the_page_shows(
        viewer_client: Client, running_send: Send) -> None:  # noqa: F811
    all_sent_over(running_send, seconds=2.0)
    Send.objects.filter(pk=running_send.pk).update(status=Send.Status.DONE)
    data = viewer_client.get(reverse("web:send-status", args=[running_send.pk])).json()
    assert (data["headline"], data["rate_label"], data["rate_text"], data["time_label"],
            data["time_text"]) == ("Sent “RETURNING HOME”", "Average per second", "1.0",
                                   "Took", "2 s")
