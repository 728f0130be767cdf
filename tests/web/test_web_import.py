"""CSV import in the staff app (admins only): the result and each bad row with its line."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from subscribers.models import MailingList, Subscriber

CSV = (b"email,name,country,language\n"
       b"aida@ngo.kz,Aida,KZ,ru\n"
       b"not-an-address,Bad,KG,ru\n"
       b"chris@un.org,Chris,KZ,en\n")


def test_it_imports_good_rows_and_lists_the_bad_ones(admin_client: Client) -> None:
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    response = admin_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("people.csv", CSV, content_type="text/csv"),
        "mailing_list": mlist.pk})
    page = response.content.decode()
    assert 'id="row-errors"' in page
    assert '<td class="num">3</td>' in page  # the line of the bad address
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["aida@ngo.kz",
                                                                          "chris@un.org"]


def test_it_checks_without_writing_on_a_dry_run(admin_client: Client) -> None:
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    admin_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("people.csv", CSV), "mailing_list": mlist.pk,
        "dry_run": "on"})
    assert not Subscriber.objects.exists()


def test_it_forbids_import_to_comms_staff(comms_client: Client) -> None:
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    response = comms_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("people.csv", CSV), "mailing_list": mlist.pk})
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_it_refuses_a_file_too_large_for_a_web_request_and_names_the_command(
        admin_client: Client, settings: object) -> None:
    settings.WEB_IMPORT_MAX_BYTES = 10_000  # type: ignore[attr-defined]
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    big = b"email\n" + b"".join(b"p%06d@example.org\n" % i for i in range(1000))  # ~20 KB
    response = admin_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("big.csv", big), "mailing_list": mlist.pk,
        "dry_run": "on"})
    page = response.content.decode()
    assert "too large to import in the browser" in page and "import_subscribers" in page
    assert not Subscriber.objects.exists()


def test_it_refuses_a_huge_upload_before_reading_it(admin_client: Client,
                                                    settings: object) -> None:
    settings.WEB_IMPORT_MAX_BYTES = 10_000  # type: ignore[attr-defined]
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    huge = b"email\n" + b"x@example.org\n" * 10_000  # 140 KB, past the form's allowance
    response = admin_client.post(reverse("web:import"), {
        "csv_file": SimpleUploadedFile("huge.csv", huge), "mailing_list": mlist.pk})
    assert response.status_code == 413
    assert "import_subscribers" in response.content.decode()
