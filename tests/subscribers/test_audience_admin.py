"""The admin: import with preview, segment editor with live count, bulk actions, export."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from subscribers.models import MailingList, Segment, Subscriber, Subscription, Suppression


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path


CSV = "Email;Имя;Страна\r\nanna@example.kz;Анна;KZ\r\nbroken;X;KZ\r\n".encode("cp1251")


def test_it_previews_an_import_without_writing(admin_client: Client,
                                               public_list: MailingList) -> None:
    response = admin_client.post("/admin/subscribers/subscriber/import/", {
        "csv_file": SimpleUploadedFile("p.csv", CSV), "mailing_list": public_list.pk,
        "mode": "subscribe"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "cp1251" in page and "anna@example.kz" in page
    assert "created 1, updated 0, unchanged 0, skipped 1" in page
    assert "line 3: invalid address" in page
    assert not Subscriber.objects.exists()


def test_it_imports_after_the_preview(admin_client: Client, public_list: MailingList) -> None:
    response = admin_client.post("/admin/subscribers/subscriber/import/", {
        "csv_file": SimpleUploadedFile("p.csv", CSV), "mailing_list": public_list.pk,
        "mode": "subscribe"})
    upload = response.context["upload"]
    admin_client.post("/admin/subscribers/subscriber/import/", {
        "upload": upload, "mailing_list": public_list.pk, "mode": "subscribe",
        "confirm": "Import"})
    assert Subscriber.objects.get().name == "Анна"
    event = Subscription.objects.get().subscriber.events.get()
    assert event.actor == "user:admin"


def test_it_refuses_a_forged_upload_name(admin_client: Client, public_list: MailingList) -> None:
    response = admin_client.post("/admin/subscribers/subscriber/import/", {
        "upload": "../../etc/passwd", "mailing_list": public_list.pk, "mode": "subscribe",
        "confirm": "Import"})
    assert "could not be read" in response.content.decode()


def test_it_counts_a_segment_live(admin_client: Client, people: Any) -> None:
    response = admin_client.get("/admin/subscribers/segment/preview/",
                                {"rule": "language = ru and tag = ngo"})
    data = response.json()
    assert data["count"] == 3
    assert [p["email"] for p in data["sample"]] == ["aida@ngo.kz", "bek@ngo.kg", "dina@gov.tj"]


def test_it_points_at_a_mistake_in_the_live_count(admin_client: Client, db: None) -> None:
    data = admin_client.get("/admin/subscribers/segment/preview/",
                            {"rule": "country = KZ; DELETE FROM x"}).json()
    assert data["position"] == 12
    assert "unexpected character" in data["error"]


def test_it_refuses_to_save_a_segment_with_a_bad_rule(admin_client: Client, db: None) -> None:
    response = admin_client.post("/admin/subscribers/segment/add/", {
        "slug": "bad", "name": "Bad", "rule": "contry = KZ"})
    assert response.status_code == 200
    assert "unknown field" in response.content.decode()
    assert not Segment.objects.exists()


def test_it_keeps_the_live_count_from_outsiders(client: Client, db: None) -> None:
    response = client.get("/admin/subscribers/segment/preview/", {"rule": "country = KZ"})
    assert response.status_code == 302  # to the login page


def test_it_adds_selected_people_to_a_list(admin_client: Client, people: Any,
                                           public_list: MailingList) -> None:
    admin_client.post("/admin/subscribers/subscriber/", {
        "action": "add_to_list", "apply": "1", "mailing_list": public_list.pk,
        "_selected_action": [people["aida"].pk, people["bek"].pk]})
    assert set(Subscription.objects.filter(mailing_list=public_list, status="confirmed")
               .values_list("subscriber__name", flat=True)) == {"Aida", "Bek"}


def test_it_suppresses_selected_people(admin_client: Client, people: Any) -> None:
    admin_client.post("/admin/subscribers/subscriber/", {
        "action": "suppress", "_selected_action": [people["chris"].pk]})
    assert Suppression.objects.get().email == "chris@un.org"


def test_it_exports_selected_people(admin_client: Client, people: Any) -> None:
    response = admin_client.post("/admin/subscribers/subscriber/", {
        "action": "export_csv", "_selected_action": [people["chris"].pk]})
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert body.splitlines()[1].startswith("chris@un.org,Chris")


def test_it_filters_subscribers_by_list_country_and_language(
        admin_client: Client, people: Any, public_list: MailingList, subscribe: Any) -> None:
    subscribe(people["aida"], public_list)
    response = admin_client.get("/admin/subscribers/subscriber/", {
        "subscriptions__mailing_list__id__exact": public_list.pk, "country": "KZ",
        "language": "ru", "q": "aida"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [people["aida"]]
