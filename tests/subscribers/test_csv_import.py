"""CSV import: encodings, delimiters, header aliases, row errors, modes, idempotence."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from subscribers.importer import ImportMode, Unreadable, import_csv
from subscribers.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    email_hash,
)

MESSY = (
    "\ufeffEmail Address,First Name,Last Name,Country,Language,Tags\r\n"
    'anna@Example.KZ,Anna,Ivanova,KZ,ru,"ngo,media"\r\n'
    "ANNA@example.kz,Anna,,,,\r\n"
    "bad-address,X,Y,KZ,ru,\r\n"
    ",No,Email,,,\r\n"
    '"bek@example.kg","Bek\r\nBcc: victim@example.com",Bekov,KG,ru,\r\n'
    "carl@example.org,Carl,C,Narnia,en,\r\n"
    "dina@example.tj,Dina,D,TJ,xx,\r\n"
    "\r\n"
    "erik@example.se,Erik,E,SE,sv,\r\n"
)

EXCEL_RU = (
    "Имя;Фамилия;E-mail;Страна;Язык;Организация\r\n"
    "Айгуль;Садыкова;aigul@mail.kz;KZ;ru;ОО «Право»\r\n"
    "Бакыт;Осмонов;bakyt@mail.kg;Кыргызстан;ru;\r\n"
    "Нет;Адреса;;KZ;ru;\r\n"
    "Ольга;Петрова;olga@@mail.ru;RU;ru;\r\n"
).encode("cp1251")

MAILCHIMP = (
    "Email Address,First Name,Last Name,Address,Phone Number,MEMBER_RATING,OPTIN_TIME,"
    "OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,"
    "LAST_CHANGED,LEID,EUID,NOTES,TAGS\n"
    "jane@example.com,Jane,Doe,,+7 700 000 00 00,2,2023-05-10 09:12:33,,2023-05-10 09:15:01,"
    '203.0.113.7,,,,,,KZ,,2024-01-02 10:00:00,12345,abc123,,"""Partners"",""NGO"""\n'
    "john@example.com,John,Roe,,,2,2023-06-01 08:00:00,,2023-06-01 08:01:00,198.51.100.2,,,,,,"
    "KG,,2024-01-02 10:00:00,12346,abc124,,\n"
)

LISTMONK = (
    "email,name,attributes\n"
    'sara@example.org,Sara,"{""role"": ""intern"", ""city"": ""Almaty""}"\n'
    'tom@example.org,Tom,"[1, 2]"\n'
    "uma@example.org,Uma,\n"
)


@pytest.fixture
def news(db: None) -> MailingList:
    return MailingList.objects.create(slug="news", name="News")


def run(data: str | bytes, mlist: MailingList | None, **kw: Any) -> Any:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return import_csv(raw, mlist, **kw)


def test_it_imports_a_messy_utf8_file_with_bom_and_reports_bad_lines(news: MailingList) -> None:
    report = run(MESSY, news)
    assert (report.created, report.updated, report.unchanged, report.duplicates) == (3, 0, 0, 1)
    assert [line for line, _ in report.skipped] == [4, 5, 8, 9]
    reasons = dict(report.skipped)
    assert "invalid address" in reasons[4]
    assert reasons[5] == "missing email"
    assert "bad country code" in reasons[8]
    assert "bad language code" in reasons[9]


def test_it_merges_addresses_differing_only_in_case(news: MailingList) -> None:
    run(MESSY, news)
    anna = Subscriber.objects.get(email__iexact="anna@example.kz")
    assert anna.email == "anna@example.kz"
    assert sorted(t.name for t in anna.tags.all()) == ["media", "ngo"]
    assert Subscriber.objects.filter(email__iexact="anna@example.kz").count() == 1


def test_it_keeps_cr_lf_out_of_names(news: MailingList) -> None:
    run(MESSY, news)
    bek = Subscriber.objects.get(email="bek@example.kg")
    assert bek.name == "Bek Bcc: victim@example.com Bekov"
    assert "\r" not in bek.name and "\n" not in bek.name


def test_it_reads_a_windows_1251_semicolon_file_from_excel(news: MailingList) -> None:
    report = run(EXCEL_RU, news)
    assert report.encoding == "cp1251"
    assert report.delimiter == ";"
    assert report.created == 2
    assert [(line, reason.split(" ")[0]) for line, reason in report.skipped] == [
        (4, "missing"), (5, "invalid")]
    aigul = Subscriber.objects.get(email="aigul@mail.kz")
    assert (aigul.name, aigul.organisation) == ("Айгуль Садыкова", "ОО «Право»")
    assert Subscriber.objects.get(email="bakyt@mail.kg").country == "KG"


def test_it_honours_an_explicit_encoding(news: MailingList) -> None:
    report = run(EXCEL_RU, news, encoding="windows-1251")
    assert report.created == 2


LATIN = ("email,name,organisation\r\n"
         "jose@example.es,José Müller,Société Générale\r\n"
         "zoe@example.fr,Zoë Françoise,Crédit Agricole\r\n")
JAPANESE = "email,name\r\nyamada@example.jp,山田太郎\r\ntanaka@example.jp,田中花子\r\n"


@pytest.mark.parametrize(("data", "codec"), [(LATIN, "latin-1"), (LATIN, "cp1252"),
                                             (JAPANESE, "shift_jis")])
def test_it_refuses_a_file_that_is_neither_utf8_nor_cp1251_instead_of_garbling_it(
        news: MailingList, data: str, codec: str) -> None:
    with pytest.raises(Unreadable, match=r"neither UTF-8 nor Windows-1251.*--encoding"):
        run(data.encode(codec), news)
    assert not Subscriber.objects.exists()


def test_it_reads_a_latin1_file_when_told_its_encoding(news: MailingList) -> None:
    run(LATIN.encode("latin-1"), news, encoding="latin-1")
    assert Subscriber.objects.get(email="jose@example.es").name == "José Müller"


def test_a_russian_file_with_some_latin_names_still_reads_as_cp1251(news: MailingList) -> None:
    data = ("Email;Имя;Организация\r\nj@example.org;John Smith;ООО «Ромашка»\r\n"
            "a@example.kz;Айгуль Садыкова;Еmail-рассылка ПРООН\r\n").encode("cp1251")
    assert run(data, news).encoding == "cp1251"


def test_it_reads_a_mailchimp_export_with_consent(news: MailingList) -> None:
    report = run(MAILCHIMP, news)
    assert (report.created, report.skipped) == (2, [])
    jane = Subscriber.objects.get(email="jane@example.com")
    assert (jane.name, jane.country) == ("Jane Doe", "KZ")
    assert jane.attributes == {"phone_number": "+7 700 000 00 00"}
    assert sorted(t.name for t in jane.tags.all()) == ["ngo", "partners"]
    sub = Subscription.objects.get(subscriber=jane, mailing_list=news)
    assert sub.consent_ip == "203.0.113.7"
    assert sub.consent_at is not None and sub.consent_at.year == 2023


def test_it_reads_a_listmonk_export_with_json_attributes(news: MailingList) -> None:
    report = run(LISTMONK, news)
    assert report.created == 2
    assert report.skipped == [(3, "attributes is not a JSON object")]
    assert Subscriber.objects.get(email="sara@example.org").attributes == {
        "role": "intern", "city": "Almaty"}


def test_it_detects_tab_delimiters(news: MailingList) -> None:
    report = run("E-mail\tName\nx@example.com\tX\n", news)
    assert (report.delimiter, report.created) == ("\t", 1)


def test_it_changes_nothing_when_the_same_file_is_imported_again(news: MailingList) -> None:
    run(MESSY, news)
    events = SubscriptionEvent.objects.count()
    report = run(MESSY, news)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert SubscriptionEvent.objects.count() == events


def test_it_counts_changed_people_as_updated(news: MailingList) -> None:
    run("email,name\nx@example.com,Old\n", news)
    report = run("email,name\nX@example.com,New\n", news)
    assert (report.created, report.updated) == (0, 1)
    assert Subscriber.objects.get().name == "New"


def test_it_reports_an_over_long_name(news: MailingList) -> None:
    report = run(f"email,name\nx@example.com,{'n' * 201}\n", news)
    assert report.skipped == [(2, "name is longer than 200 characters (201)")]


def test_it_writes_nothing_in_a_dry_run(news: MailingList) -> None:
    report = run(MESSY, news, dry_run=True)
    assert report.created == 3
    assert Subscriber.objects.count() == 0


def test_it_imports_nothing_in_strict_mode_when_a_row_is_bad(news: MailingList) -> None:
    report = run(MESSY, news, strict=True)
    assert report.rolled_back
    assert Subscriber.objects.count() == 0


def test_it_imports_in_strict_mode_when_every_row_is_good(news: MailingList) -> None:
    report = run(MAILCHIMP, news, strict=True)
    assert not report.rolled_back
    assert Subscriber.objects.count() == 2


def test_it_does_not_resubscribe_someone_who_unsubscribed(news: MailingList) -> None:
    run("email\nx@example.com\n", news)
    Subscription.objects.update(status="unsubscribed")
    report = run("email\nx@example.com\n", news)
    assert Subscription.objects.get().status == "unsubscribed"
    assert "unsubscribed" in report.kept_out[0][1]


def test_it_leaves_suppressed_addresses_out(news: MailingList) -> None:
    Suppression.objects.create(email="x@example.com", email_hash=email_hash("X@example.com"),
                               reason="complaint")
    report = run("email\nX@example.com\n", news)
    assert report.created == 0
    assert Subscriber.objects.count() == 0
    assert report.kept_out == [(2, "address is suppressed (complaint)")]


def test_it_creates_nobody_in_update_only_mode(news: MailingList) -> None:
    run("email,name\nx@example.com,X\n", news)
    report = run("email,name\nx@example.com,Xavier\nnew@example.com,New\n", news,
                 mode=ImportMode.UPDATE)
    assert (report.created, report.updated, len(report.kept_out)) == (0, 1, 1)
    assert not Subscriber.objects.filter(email="new@example.com").exists()


def test_it_adds_suppressions_in_blocklist_mode(news: MailingList) -> None:
    run("email\nx@example.com\n", news)
    report = run("email\nX@example.com\ny@example.com\n", None, mode=ImportMode.BLOCKLIST)
    assert report.created == 2
    assert Suppression.objects.count() == 2
    assert Subscriber.objects.get().status == Subscriber.Status.BLOCKLISTED


def test_it_refuses_a_file_without_an_email_column(news: MailingList) -> None:
    with pytest.raises(Unreadable, match="no email column"):
        run("name,country\nAnna,KZ\n", news)


def test_it_reads_a_headerless_list_of_addresses(news: MailingList) -> None:
    report = run("a@example.com\nb@example.com\n", news)
    assert report.created == 2


def test_it_reads_a_multipart_chunked_file_in_bulk(news: MailingList, monkeypatch: Any,
                                                   django_assert_max_num_queries: Any) -> None:
    monkeypatch.setattr("subscribers.importer.CHUNK", 50)
    body = "".join(f"p{i}@example.com,Person {i}\n" for i in range(500))
    with django_assert_max_num_queries(120):
        report = run("email,name\n" + body, news)
    assert report.created == 500
    assert Subscription.objects.filter(mailing_list=news, status="confirmed").count() == 500


def test_it_counts_duplicates_across_chunks_once(news: MailingList, monkeypatch: Any) -> None:
    monkeypatch.setattr("subscribers.importer.CHUNK", 2)
    report = run("email\na@example.com\nb@example.com\nA@example.com\n", news)
    assert (report.created, report.duplicates) == (2, 1)


# --- the command -------------------------------------------------------------------------

def test_it_runs_the_command_and_creates_the_list(tmp_path: Path, db: None) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(EXCEL_RU)
    out = io.StringIO()
    call_command("import_subscribers", str(path), "--list", "partners", stdout=out)
    text = out.getvalue()
    assert "line 4: missing email (skipped)" in text
    assert "partners: created 2, updated 0, unchanged 0, skipped 2" in text
    assert MailingList.objects.filter(slug="partners").exists()


def test_it_creates_no_list_in_a_command_dry_run(tmp_path: Path, db: None) -> None:
    path = tmp_path / "people.csv"
    path.write_text(MESSY, encoding="utf-8")
    out = io.StringIO()
    call_command("import_subscribers", str(path), "--list", "new", "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert not MailingList.objects.exists()


def test_it_fails_the_command_only_when_nothing_can_be_read(tmp_path: Path, db: None) -> None:
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_subscribers", str(tmp_path / "missing.csv"), "--list", "x")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import_subscribers", str(empty), "--list", "x")


def test_it_prints_a_machine_readable_report(tmp_path: Path, db: None) -> None:
    import json

    path = tmp_path / "people.csv"
    path.write_text(MESSY, encoding="utf-8")
    out = io.StringIO()
    call_command("import_subscribers", str(path), "--list", "news", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["created"], report["duplicates"]) == (3, 1)
    assert report["skipped"][0] == {"line": 4, "reason": report["skipped"][0]["reason"]}


def test_it_imports_a_blocklist_from_the_command_without_a_list(tmp_path: Path,
                                                                db: None) -> None:
    path = tmp_path / "block.csv"
    path.write_text("email\nspam@example.com\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_subscribers", str(path), "--mode", "blocklist", stdout=out)
    assert "blocklist: created 1" in out.getvalue()
    assert Suppression.objects.get().reason == "manual"


def test_it_drops_invisible_characters_from_addresses(news: MailingList) -> None:
    report = run("email\n\u200banna@example.kz\u00a0\n", news)
    assert report.created == 1
    assert Subscriber.objects.get().email == "anna@example.kz"


def test_it_does_not_subscribe_rows_mailchimp_exported_as_cleaned(news: MailingList) -> None:
    report = run("Email Address,CLEAN_TIME\nbounced@example.com,2024-02-01 10:00:00\n", news)
    assert report.created == 1
    assert Subscription.objects.get().status == "unsubscribed"


def test_it_counts_lines_after_leading_blank_lines_and_an_excel_sep_hint(
        news: MailingList) -> None:
    report = run("\r\nsep=;\r\nEmail;Name\r\nbroken;X\r\n", news)
    assert report.skipped[0][0] == 4
