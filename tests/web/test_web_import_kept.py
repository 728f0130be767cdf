"""The staff app's CSV import says how it read the file (encoding, delimiter, what each
column fills), and a check keeps the file on the server so "Import these rows" needs no
second upload; the kept file is private to its uploader, time-limited and cleaned up."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mailer.web import uploads
from mailer.web.roles import Role
from subscribers.models import MailingList, Subscriber
from tests.web.personas import make_user, signed_in

pytestmark = pytest.mark.django_db

CSV = (b"email,name,organisation,language,favourite colour\n"
       b"aida@ngo.kz,Aida,NGO Kazakhstan,ru,green\n"
       b"not-an-address,Bad,,ru,\n"
       b"chris@un.org,Chris,UN,en,blue\n")


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR / "web-imports"


@pytest.fixture
def mlist(db: None) -> MailingList:
    return MailingList.objects.create(slug="partners", name="Partners")


def check(client: Client, mlist: MailingList, data: bytes = CSV, name: str = "people.csv") -> str:
    response = client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile(name, data, content_type="text/csv"),
        "mailing_list": mlist.pk, "dry_run": "on"})
    assert response.status_code == 200
    return response.content.decode()


def reference_in(page: str) -> str:
    [ref] = re.findall(r'<input type="hidden" name="upload" value="([^"]+)"', page)
    return ref


def import_kept(client: Client, mlist: MailingList, ref: str) -> Any:
    return client.post(reverse("web:import"), {"upload": ref, "mailing_list": mlist.pk,
                                               "encoding": ""})


def test_a_check_shows_the_detected_encoding_and_what_each_column_fills(
        admin_client: Client, mlist: MailingList) -> None:
    page = check(admin_client, mlist)
    assert '<strong id="detected-encoding">UTF-8</strong>' in page
    assert "columns separated by <strong>comma</strong>" in page
    mapping = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>",
                         page.split('id="column-mapping"', 1)[1])
    assert mapping == [("email", "email address"), ("name", "full name"),
                       ("organisation", "organisation"), ("language", "language"),
                       ("favourite colour", "extra field “favourite_colour”")]


def test_a_russian_excel_file_is_shown_as_windows_1251_with_its_columns(
        admin_client: Client, mlist: MailingList) -> None:
    data = "Эл. почта;Имя;Организация\naida@ngo.kz;Аида;НКО\n".encode("cp1251")
    page = check(admin_client, mlist, data)
    assert '<strong id="detected-encoding">Windows-1251</strong>' in page
    assert "columns separated by <strong>semicolon</strong>" in page
    assert "<tr><td>Эл. почта</td><td>email address</td></tr>" in page
    assert "<tr><td>Имя</td><td>first name</td></tr>" in page


def test_import_these_rows_imports_the_checked_file_without_a_second_upload(
        admin_client: Client, mlist: MailingList, var_dir: Path) -> None:
    page = check(admin_client, mlist)
    assert not Subscriber.objects.exists()
    assert len(list(var_dir.glob("*.csv"))) == 1
    response = import_kept(admin_client, mlist, reference_in(page))
    assert response.status_code == 200
    assert "Created 2, updated 0, unchanged 0, skipped 1." in response.content.decode()
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["aida@ngo.kz",
                                                                          "chris@un.org"]
    assert list(var_dir.glob("*.csv")) == []  # deleted once imported


def test_a_kept_file_imports_once(admin_client: Client, mlist: MailingList) -> None:
    ref = reference_in(check(admin_client, mlist))
    import_kept(admin_client, mlist, ref)
    Subscriber.objects.all().delete()
    response = import_kept(admin_client, mlist, ref)
    assert response.status_code == 400
    assert "already imported or has expired" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_another_admin_cannot_import_a_file_someone_else_checked(
        admin_client: Client, mlist: MailingList) -> None:
    ref = reference_in(check(admin_client, mlist))
    other = signed_in(make_user("otto", Role.ADMIN))
    response = import_kept(other, mlist, ref)
    assert response.status_code == 400
    assert "uploaded by someone else" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_forged_reference_imports_nothing(admin_client: Client, mlist: MailingList) -> None:
    ref = reference_in(check(admin_client, mlist))
    response = import_kept(admin_client, mlist, ref[:-2] + ("AA" if ref[-2:] != "AA" else "BB"))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_an_expired_reference_imports_nothing(admin_client: Client, mlist: MailingList,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ref = reference_in(check(admin_client, mlist))
    monkeypatch.setattr(uploads, "KEEP_SECONDS", -1)
    response = import_kept(admin_client, mlist, ref)
    assert response.status_code == 400
    assert "has expired" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_kept_file_is_readable_by_the_service_only(admin_client: Client, mlist: MailingList,
                                                     var_dir: Path) -> None:
    check(admin_client, mlist)
    [kept] = var_dir.glob("*.csv")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert var_dir.stat().st_mode & 0o777 == 0o700


def test_checked_files_left_behind_are_swept_after_their_hour(
        admin_client: Client, mlist: MailingList, var_dir: Path) -> None:
    check(admin_client, mlist)
    [old] = var_dir.glob("*.csv")
    past = time.time() - uploads.KEEP_SECONDS - 60
    os.utime(old, (past, past))
    check(admin_client, mlist)  # keeping another sweeps the old one
    left = list(var_dir.glob("*.csv"))
    assert len(left) == 1 and left[0] != old


def test_an_unreadable_file_is_not_kept_and_nothing_is_written(
        admin_client: Client, mlist: MailingList, var_dir: Path) -> None:
    data = "email,name\nm@example.de,Müller Straße Äpfel Öl\n".encode("latin-1")
    page = check(admin_client, mlist, data)
    assert "The file could not be read" in page and 'name="upload"' not in page
    assert list(var_dir.glob("*.csv")) == [] and not Subscriber.objects.exists()


def test_hostile_column_titles_are_shown_as_text(admin_client: Client,
                                                 mlist: MailingList) -> None:
    data = (b"email,<img src=x onerror=alert(1)>,=HYPERLINK(\"http://evil\")\x07\n"
            b"aida@ngo.kz,x,y\n")
    page = check(admin_client, mlist, data)
    table = page.split('id="column-mapping"', 1)[1].split("</table>", 1)[0]
    assert "<img" not in table and "&lt;img src=x onerror=alert(1)&gt;" in table
    assert "\x07" not in table
