"""CSV import of subscribers (first version: comma/semicolon/tab, UTF-8, header aliases)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction

from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.services import InvalidAddress, email_normalise, is_suppressed, subscription_set

ALIASES = {
    "email": {"email", "e-mail", "email address", "mail", "почта", "эл. почта", "email_address"},
    "name": {"name", "full name", "имя", "фио"},
    "organisation": {"organisation", "organization", "org", "company", "организация"},
    "country": {"country", "страна"},
    "language": {"language", "lang", "язык"},
}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {len(self.skipped)}")


def _column_map(header: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lower()
        for target, names in ALIASES.items():
            if key in names and target not in mapping:
                mapping[target] = i
    return mapping


def import_csv(data: bytes, mailing_list: MailingList, *, actor: str = "import") -> ImportReport:
    text = data.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    rows = csv.reader(io.StringIO(text), dialect)
    header = next(rows, [])
    cols = _column_map(header)
    if "email" not in cols:
        raise ValueError(f"no email column in header {header!r}")
    report = ImportReport()
    for line_no, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        def cell(name: str, row: list[str] = row) -> str:
            i = cols.get(name)
            return " ".join(row[i].split()) if i is not None and i < len(row) else ""
        try:
            email = email_normalise(cell("email"))
        except InvalidAddress as exc:
            report.skipped.append((line_no, f"invalid address: {exc}"))
            continue
        if is_suppressed(email):
            report.skipped.append((line_no, "address is suppressed"))
            continue
        values = {"name": cell("name"), "organisation": cell("organisation"),
                  "country": cell("country").upper()[:2], "language": cell("language").lower() or "en"}
        with transaction.atomic():
            sub, created = Subscriber.objects.get_or_create(
                email=email, defaults={**values, "email_hash": email_hash(email)})
            changed = {k: v for k, v in values.items() if v and getattr(sub, k) != v}
            if not created and changed:
                for k, v in changed.items():
                    setattr(sub, k, v)
                sub.save()
            had = Subscription.objects.filter(subscriber=sub, mailing_list=mailing_list,
                                              status="confirmed").exists()
            subscription_set(sub, mailing_list, "confirmed", actor=actor, method="import",
                             source="csv import")
        if created:
            report.created += 1
        elif changed or not had:
            report.updated += 1
        else:
            report.unchanged += 1
    return report
