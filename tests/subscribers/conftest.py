"""Fixtures for the audience tests: a few people in a few countries, and lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from subscribers.models import MailingList, Subscriber, Subscription, Tag, email_hash


def make_subscriber(email: str, **fields: Any) -> Subscriber:
    tags = fields.pop("tags", [])
    sub = Subscriber.objects.create(email=email, email_hash=email_hash(email), **fields)
    for name in tags:
        sub.tags.add(Tag.objects.get_or_create(name=name)[0])
    return sub


@pytest.fixture(autouse=True)
def celery_inline() -> Iterator[None]:
    """Tasks the pages queue (the confirmation mail) run at once, as a worker would."""
    from mailer.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def people(db: None) -> dict[str, Subscriber]:
    return {
        "aida": make_subscriber("aida@ngo.kz", name="Aida", country="KZ", language="ru",
                                tags=["ngo"], attributes={"role": "director", "age": 41}),
        "bek": make_subscriber("bek@ngo.kg", name="Bek", country="KG", language="ru",
                               tags=["ngo", "media"], attributes={"role": "intern", "age": 22}),
        "chris": make_subscriber("chris@un.org", name="Chris", country="KZ", language="en",
                                 tags=["un"], attributes={}),
        "dina": make_subscriber("dina@gov.tj", name="Dina", country="TJ", language="ru",
                                tags=["ngo"], attributes={"role": "officer"}),
    }


@pytest.fixture
def public_list(db: None) -> MailingList:
    return MailingList.objects.create(slug="news", name="News", kind="public",
                                      visibility="public", opt_in="single")


@pytest.fixture
def double_list(db: None) -> MailingList:
    return MailingList.objects.create(slug="digest", name="Digest", kind="public",
                                      visibility="public", opt_in="double")


@pytest.fixture
def subscribe(db: None) -> Any:
    """subscribe(subscriber, mailing_list, status="confirmed") -> Subscription"""

    def _subscribe(sub: Subscriber, mlist: MailingList, status: str = "confirmed") -> Subscription:
        return Subscription.objects.create(subscriber=sub, mailing_list=mlist, status=status)

    return _subscribe


@pytest.fixture
def new_subscriber(db: None) -> Any:
    """new_subscriber(email, **fields) -> Subscriber"""
    return make_subscriber
