"""``newsletter import_subscribers FILE --list SLUG``: the CSV importer from the command line.

Exit status 0 whenever the import ran (bad rows are reported and skipped); non-zero only
when nothing could be read (missing file, unknown encoding, no email column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from subscribers.importer import ImportMode, Unreadable, import_csv, report_dict, report_lines
from subscribers.models import MailingList


class Command(BaseCommand):
    help = "Import subscribers from a CSV file into a list (created if missing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--list", dest="list_slug",
                            help="list to subscribe people to (required unless --mode blocklist)")
        parser.add_argument("--list-name", help="name for a new list (default: the slug)")
        parser.add_argument("--kind", choices=["partner", "public"], default="public")
        parser.add_argument("--mode", choices=[m.value for m in ImportMode],
                            default=ImportMode.SUBSCRIBE.value)
        parser.add_argument("--encoding", help="utf-8 or windows-1251 (default: detected)")
        parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
        parser.add_argument("--strict", action="store_true",
                            help="import nothing if any row is bad")
        parser.add_argument("--consent-text", default="",
                            help="what these people agreed to, kept with each new subscription")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["path"]
        mode = ImportMode(opts["mode"])
        if not opts["list_slug"] and mode != ImportMode.BLOCKLIST:
            raise CommandError("--list SLUG is required (except with --mode blocklist)")
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}; nothing imported") from None
        with stream, transaction.atomic():
            # A dry run may name a list that does not exist yet: create it, then roll back.
            mlist = None
            if opts["list_slug"]:
                mlist, _ = MailingList.objects.get_or_create(
                    slug=opts["list_slug"],
                    defaults={"name": opts["list_name"] or opts["list_slug"],
                              "kind": opts["kind"]})
            try:
                report = import_csv(
                    stream, mlist, mode=mode, encoding=opts["encoding"],
                    dry_run=opts["dry_run"], strict=opts["strict"], actor="import:cli",
                    source=f"csv import {path.name}"[:255], consent_text=opts["consent_text"])
            except Unreadable as exc:
                transaction.set_rollback(True)
                raise CommandError(f"{path}: {exc}; nothing imported") from None
            if opts["dry_run"]:
                transaction.set_rollback(True)
        if opts["json"]:
            self.stdout.write(json.dumps(report_dict(report), ensure_ascii=False, indent=1))
            return
        for line in report_lines(report):
            self.stdout.write(line)
        label = mlist.slug if mlist else "blocklist"
        self.stdout.write(f"{label}: {report.summary()} "
                          f"[{report.encoding}, delimiter {report.delimiter!r}]")
