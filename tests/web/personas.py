"""Shared fixtures (web, API, browser tests). Personas: an admin, a comms staff member and a viewer (plus anonymous),
an issue imported from the seed, and a small audience with lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.web.roles import Role, role_assign
from subscribers.models import MailingList, Subscriber, Subscription, email_hash

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "iom-central-asia-issue-3.md"
PASSWORD = "correct horse battery staple 42"


def make_user(username: str, role: Role | None) -> User:
    user = User.objects.create_user(username, f"{username}@staff.example.org", PASSWORD,
                                    first_name=username.title())
    if role is not None:
        role_assign(user, role)
    return user


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("alma", Role.ADMIN)


@pytest.fixture
def comms_user(db: None) -> User:
    return make_user("casey", Role.COMMS)


@pytest.fixture
def viewer_user(db: None) -> User:
    return make_user("vera", Role.VIEWER)


def signed_in(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user: User) -> Client:  # shadows pytest-django's superuser client
    return signed_in(admin_user)


@pytest.fixture
def comms_client(comms_user: User) -> Client:
    return signed_in(comms_user)


@pytest.fixture
def viewer_client(viewer_user: User) -> Client:
    return signed_in(viewer_user)


@pytest.fixture
def seed_source() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def issue(db: None, seed_source: str) -> Issue:
    return issue_import(seed_source, language="en", slug="issue-3").issue


def subscriber(email: str, *, language: str = "en", lists: tuple[MailingList, ...] = (),
               status: str = "confirmed") -> Subscriber:
    sub = Subscriber.objects.create(email=email, email_hash=email_hash(email), language=language,
                                    name=email.split("@")[0].title())
    for mlist in lists:
        Subscription.objects.create(subscriber=sub, mailing_list=mlist, status=status)
    return sub


@pytest.fixture
def lists(db: None) -> dict[str, MailingList]:
    return {
        "partners": MailingList.objects.create(slug="partners", name="Partners", kind="partner"),
        "news": MailingList.objects.create(slug="news", name="News", kind="public"),
        "staff": MailingList.objects.create(slug="staff", name="Staff", kind="partner"),
    }


@pytest.fixture
def audience(lists: dict[str, MailingList]) -> dict[str, Subscriber]:
    """Five people: one on two lists, one Russian, one suppressed, one unconfirmed, one staff."""
    from subscribers.services import suppression_add

    people = {
        "ana": subscriber("ana@ngo.kz", lists=(lists["partners"], lists["news"])),
        "bek": subscriber("bek@ngo.kg", language="ru", lists=(lists["partners"],)),
        "cy": subscriber("cy@un.org", lists=(lists["news"],)),
        "dan": subscriber("dan@gov.tj", lists=(lists["news"],), status="unconfirmed"),
        "eve": subscriber("eve@iom.int", lists=(lists["news"], lists["staff"])),
    }
    suppression_add("cy@un.org", "hard_bounce")
    return people


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Real hashers take ~0.3 s a password by design; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def smtp_sink(settings: Any, tmp_path: Path) -> Any:
    """A real SMTP server on 127.0.0.1 storing what it receives; the app sends to it."""
    from mailer.env import smtp_from_url
    from mailer.sink.server import SinkServer, free_port

    port = free_port()
    sink = SinkServer(tmp_path / "sink", port=port).start()
    settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield sink
    sink.stop()
