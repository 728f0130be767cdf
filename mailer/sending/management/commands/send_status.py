from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mailer.sending.management.commands._common import progress_line, send_get
from mailer.sending.models import Send
from mailer.sending.progress import send_progress


class Command(BaseCommand):
    help = "Show a send's progress (counters, throughput, ETA), or list recent sends with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("send_id", type=int, nargs="?")
        parser.add_argument("--json", action="store_true", help="one JSON object")
        parser.add_argument("--all", action="store_true", help="list the 20 latest sends")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["all"] or opts["send_id"] is None:
            for send in Send.objects.select_related("issue")[:20]:
                self.stdout.write(f"{send.pk}\t{send.status}\t{send.planned_count}\t"
                                  f"{send.issue.slug}\t{send.created_at:%Y-%m-%d %H:%M}")
            return
        send_get(opts["send_id"])
        p = send_progress(opts["send_id"])
        if opts["json"]:
            self.stdout.write(json.dumps(p, ensure_ascii=False))
            return
        self.stdout.write(f"Send {p['id']} of {p['issue']}: {p['status']}"
                          + (f" — {p['status_reason']}" if p["status_reason"] else ""))
        self.stdout.write(progress_line(p))
        for notice in p["notices"]:
            self.stdout.write(f"Note: {notice}")
