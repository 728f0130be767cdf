"""Recording under load: real HTTP requests from many threads through the live server;
every hit is one INSERT, the flush turns them into the right counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mailer.engagement.intake import hits_flush
from mailer.engagement.models import Event, Hit
from mailer.engagement.report import send_engagement
from mailer.issues.models import Issue
from subscribers.models import MailingList
from tests.engagement.conftest import SITE, built, http_request, paths, planned
from tests.sending.conftest import subscribe, subscriber_make

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_burst_of_opens_and_clicks_from_many_clients_is_counted_exactly(
        issue: Issue, lists: dict[str, MailingList], live_server: Any) -> None:
    readers = [subscriber_make(f"burst{i}@example.net", f"B {i}") for i in range(60)]
    for r in readers:
        subscribe(r, lists["partners"])
    send = planned(issue, [lists["partners"]])
    urls = [paths(built(send, r)) for r in readers]
    requests = []
    for i, (pixel, clicks) in enumerate(urls):
        requests += [SITE + pixel] * 3  # each reader opens three times
        if i % 3 == 0:
            requests.append(SITE + clicks[0])  # 20 readers click
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda url: http_request(live_server.url, url)[0], requests))
    assert statuses.count(200) == 180 and statuses.count(302) == 20
    assert Hit.objects.count() == 200  # recorded as they came, nothing counted yet

    assert hits_flush(limit=150) == 150  # flushed in bulk batches
    figures = send_engagement(send)  # flushes the rest first
    assert Hit.objects.count() == 0 and Event.objects.count() == 200
    assert (figures.opens_unique, figures.clicks_unique, figures.clicks_total) == (60, 20, 20)
