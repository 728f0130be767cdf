from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscribers.importer import import_csv
from subscribers.models import MailingList


class Command(BaseCommand):
    help = "Import subscribers from a CSV file into a list (created if missing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--list", dest="list_slug", required=True)
        parser.add_argument("--list-name", help="name for a new list (default: the slug)")
        parser.add_argument("--kind", choices=["partner", "public"], default="public")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            data = opts["path"].read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {opts['path']}: {exc.strerror}; nothing imported") from None
        mlist, created = MailingList.objects.get_or_create(
            slug=opts["list_slug"],
            defaults={"name": opts["list_name"] or opts["list_slug"], "kind": opts["kind"]},
        )
        try:
            report = import_csv(data, mlist)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(f"{opts['path']}: {exc}; nothing imported") from None
        for line, reason in report.skipped:
            self.stderr.write(f"line {line}: {reason} (skipped)")
        self.stdout.write(f"{mlist.slug}: {report.summary()}")
