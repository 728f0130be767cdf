"""Addresses like ``{{7*7}}@example.org`` never reach a To: header (issue 10): the public
form, the CSV import and the API refuse them with a clear reason."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.test import Client

from subscribers.importer import import_csv
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


def test_the_subscribe_form_refuses_a_template_like_address(public_list: MailingList) -> None:
    cache.clear()
    response = Client().post("/subscribe/news/", {"email": "{{7*7}}@example.org",
                                                  "consent": "on", "language": "en"})
    assert response.status_code == 400
    assert "does not accept ({ } % $ ` |)" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_the_csv_import_skips_a_template_like_address_with_the_reason(
        public_list: MailingList) -> None:
    report = import_csv(io.BytesIO(b"email\n{{7*7}}@example.org\naida@ngo.kz\n"), public_list)
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["aida@ngo.kz"]
    assert any("template syntax" in reason for _line, reason in report.skipped)


def test_the_api_refuses_a_template_like_address(db: None) -> None:
    from mailer.web.roles import Role
    from mailer.web.tokens import token_create
    from tests.web.personas import make_user

    token = token_create(make_user("api", Role.ADMIN), name="t")
    response = Client().post("/api/subscribers", {"email": "${7*7}@example.org"},
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and "template syntax" in response.json()["detail"]
    assert not Subscriber.objects.exists()
