"""CSV export: consent columns, lists and segments, formula injection neutralised."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from subscribers.exporter import cell_safe, export_rows
from subscribers.models import MailingList, Segment, Subscriber, Subscription


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+7 700", "-2+3", "@SUM(A1)",
                                   "\t=1", "\r=1"])
def test_it_neutralises_cells_a_spreadsheet_would_run_as_formulas(value: str) -> None:
    assert cell_safe(value) == "'" + value


def test_it_leaves_ordinary_cells_alone() -> None:
    assert cell_safe("Айгуль = 1") == "Айгуль = 1"


def test_it_exports_a_list_with_consent_columns(people: dict[str, Subscriber],
                                                public_list: MailingList) -> None:
    Subscription.objects.create(subscriber=people["aida"], mailing_list=public_list,
                                status="confirmed", consent_method="form",
                                consent_ip="203.0.113.1", consent_text="I agree")
    rows = list(export_rows(Subscriber.objects.all(), public_list))
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    record = dict(zip(header, body[0], strict=True))
    assert (record["email"], record["list"], record["status"]) == ("aida@ngo.kz", "news",
                                                                   "confirmed")
    assert (record["consent_method"], record["consent_ip"], record["consent_text"]) == (
        "form", "203.0.113.1", "I agree")


def test_it_neutralises_a_hostile_name_in_the_file(new_subscriber: Any, tmp_path: Path,
                                                   public_list: MailingList) -> None:
    sub = new_subscriber("x@example.com", name='=cmd|"/c calc"!A1')
    Subscription.objects.create(subscriber=sub, mailing_list=public_list)
    out = tmp_path / "out.csv"
    call_command("export_subscribers", "--list", "news", "-o", str(out), stderr=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["name"] == "'=cmd|\"/c calc\"!A1"


def test_it_exports_a_segment_from_the_command(people: Any) -> None:
    Segment.objects.create(slug="ru", name="Russian", rule="language = ru and country = KZ")
    out = io.StringIO()
    call_command("export_subscribers", "--segment", "ru", stdout=out, stderr=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["email"] for r in rows] == ["aida@ngo.kz"]


def test_it_reports_a_bad_segment_rule_and_exports_nothing(db: None, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(CommandError, match="column"):
        call_command("export_subscribers", "--rule", "country = KZ; DROP", "-o", str(out))
    assert not out.exists()


def test_it_reads_its_own_export_back_unchanged(people: Any, public_list: MailingList,
                                                tmp_path: Path) -> None:
    from subscribers.importer import import_csv

    for p in people.values():
        Subscription.objects.create(subscriber=p, mailing_list=public_list)
    out = tmp_path / "out.csv"
    call_command("export_subscribers", "--list", "news", "-o", str(out), stderr=io.StringIO())
    report = import_csv(out.read_bytes(), public_list)
    assert (report.created, report.updated, report.unchanged, report.skipped) == (0, 0, 4, [])
