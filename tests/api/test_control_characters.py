"""NUL and other control characters are refused with a 4xx naming the field, wherever they
come in (issue 10, item 6): API JSON, the public forms, the web CSV import. On PostgreSQL a
NUL used to reach the database and answer 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from subscribers.models import MailingList, Subscriber
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f"])
def test_the_api_refuses_a_control_character_in_attributes_naming_the_field(
        admin_api: ApiClient, char: str) -> None:
    response = admin_api.post("/subscribers", {"email": "new@example.org",
                                               "attributes": {"note": f"a{char}b"}})
    assert response.status_code == 422
    assert "attributes.note contains a control character" in response.json()["detail"]
    assert not Subscriber.objects.exists()


def test_the_api_refuses_a_nul_in_a_patch(admin_api: ApiClient) -> None:
    created = admin_api.post("/subscribers", {"email": "new@example.org"}).json()
    response = admin_api.patch(f"/subscribers/{created['id']}", {"name": "A\x00B"})
    assert response.status_code == 422 and "name contains" in response.json()["detail"]


def test_the_api_refuses_a_nul_in_issue_markdown(comms_api: ApiClient, seed_source: str) -> None:
    response = comms_api.post("/issues", {"markdown": seed_source + "\x00", "slug": "issue-3"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("markdown contains a control character (U+0000)")
    assert not Issue.objects.exists()


def test_markdown_keeps_tabs_and_line_breaks(comms_api: ApiClient, seed_source: str) -> None:
    response = comms_api.post("/issues", {"markdown": seed_source.replace("\n", "\r\n") + "\t",
                                          "slug": "issue-3"})
    assert response.status_code == 201


def test_the_public_subscribe_form_refuses_a_nul_naming_the_field(db: None) -> None:
    cache.clear()
    MailingList.objects.create(slug="news", name="News", visibility="public", opt_in="single")
    response = Client().post("/subscribe/news/", {"email": "new@example.org", "name": "A\x00",
                                                  "consent": "on", "language": "en"})
    assert response.status_code == 400
    assert response.content.decode().startswith("name contains a control character (U+0000)")
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("csv_bytes", [
    b'email,attributes\naida@ngo.kz,"{""note"": ""a\\u0000b""}"\nchris@un.org,\n',
    b"email,name\naida@ngo.kz,Ai\x00da\nchris@un.org,Chris\n",
    b"em\x00ail,name\naida@ngo.kz,Aida\nchris@un.org,Chris\n",
])
def test_the_web_csv_import_never_fails_on_a_nul(admin_client: Client, csv_bytes: bytes,
                                                 settings: Any) -> None:
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    response = admin_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("people.csv", csv_bytes, content_type="text/csv"),
        "mailing_list": mlist.pk})
    assert response.status_code == 200
    emails = set(Subscriber.objects.values_list("email", flat=True))
    assert "chris@un.org" in emails
    if b"\\u0000" in csv_bytes:
        page = response.content.decode()
        assert "attributes.note contains a control character" in page
        assert "aida@ngo.kz" not in emails


def test_the_issue_upload_refuses_a_markdown_file_with_a_nul(comms_client: Client,
                                                             seed_source: str) -> None:
    upload = SimpleUploadedFile("issue.md", (seed_source + "\x00").encode())
    response = comms_client.post(reverse("web:issue-new"),
                                 {"markdown_file": upload, "language": "en"})
    assert response.status_code == 200
    assert "markdown_file contains a control character (U+0000)" in response.content.decode()
    assert not Issue.objects.exists()


def test_the_admin_refuses_attributes_whose_json_spells_a_nul(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:subscribers_subscriber_add"), {
        "email": "new@example.org", "language": "en", "status": "active",
        "attributes": '{"note": "a\\u0000b"}'})
    assert response.status_code == 200
    assert "attributes.note contains a control character" in response.content.decode()
    assert not Subscriber.objects.exists()
