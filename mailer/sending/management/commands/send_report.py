from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mailer.engagement.report import engagement_lines, send_engagement
from mailer.sending.management.commands._common import progress_line, send_get
from mailer.sending.models import Delivery
from mailer.sending.progress import send_progress
from mailer.sending.report import delivery_log_write, failure_summary


class Command(BaseCommand):
    help = ("Summarise a send's outcomes (--json: with opens, clicks and links), or export "
            "its delivery log as CSV (--csv FILE, or --csv - for standard output).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("send_id", type=int)
        parser.add_argument("--csv", metavar="FILE", help="write the delivery log here")
        parser.add_argument("--json", action="store_true",
                            help="outcomes and engagement (opens, clicks, links) as one JSON object")
        parser.add_argument("--status", action="append", default=[],
                            choices=[s.value for s in Delivery.Status],
                            help="only rows with this status (repeatable)")

    def handle(self, *args: Any, **opts: Any) -> None:
        send = send_get(opts["send_id"])
        if opts["csv"]:
            if opts["csv"] == "-":
                delivery_log_write(send.pk, sys.stdout, opts["status"])
                return
            path = Path(opts["csv"])
            with path.open("w", encoding="utf-8", newline="") as out:
                n = delivery_log_write(send.pk, out, opts["status"])
            self.stdout.write(f"{n} deliveries written to {path}")
            return
        p = send_progress(send.pk)
        if opts["json"]:
            figures = send_engagement(send).as_json()
            self.stdout.write(json.dumps({"send_id": send.pk, "status": p["status"], **figures},
                                         ensure_ascii=False, default=str))
            return
        self.stdout.write(f"Send {send.pk} of {send.issue.slug}: {p['status']}"
                          + (f" — {p['status_reason']}" if p["status_reason"] else ""))
        self.stdout.write(progress_line(p))
        rows = failure_summary(send.pk)
        if rows:
            self.stdout.write("Most common outcomes other than sent:")
        for status, code, reply, n in rows:
            self.stdout.write(f"  {n:>7}  {status:<9} {code or '':<4} {reply[:100]}")
        self.stdout.write(engagement_lines(send_engagement(send)))
