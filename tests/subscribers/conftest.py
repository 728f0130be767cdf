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


@pytest.fixture
def audience_of(db: None) -> Any:
    """audience_of(lists, excluded=(), rule="") -> the names the send rule would mail:
    the one audience rule (``mailer.sending.planning.audience_queryset``) applied to a
    draft send of a throwaway issue."""
    from mailer.issues.models import Issue
    from mailer.sending.models import Send
    from mailer.sending.planning import audience_queryset
    from subscribers.models import Segment

    def _audience(lists: list[MailingList], excluded: tuple[MailingList, ...] = (),
                  rule: str = "") -> set[str]:
        issue, _ = Issue.objects.get_or_create(slug="audience-probe",
                                               defaults={"title": "Audience probe"})
        segment = (Segment.objects.create(slug=f"probe-{Segment.objects.count()}", name="probe",
                                          rule=rule) if rule else None)
        send = Send.objects.create(issue=issue, segment=segment)
        send.lists.set(lists)
        send.excluded_lists.set(excluded)
        return {s.name for s in audience_queryset(send)}

    return _audience
