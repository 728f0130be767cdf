from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mailer.bounces.processing import inbound_process


class Command(BaseCommand):
    help = ("Process one bounce, complaint or mail-unsubscribe message (a file, or stdin: for an MTA pipe "
            "transport, e.g. Postfix `pipe ... newsletter process_bounce --recipient ${recipient}`).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="message file (default: stdin)")
        parser.add_argument("--recipient", action="append", default=[],
                            help="envelope recipient (the VERP or unsubscribe address); repeatable")

    def handle(self, *args: Any, **opts: Any) -> None:
        raw = opts["path"].read_bytes() if opts["path"] else sys.stdin.buffer.read()
        outcome = inbound_process(raw, opts["recipient"])
        detail = f" ({outcome.reason})" if outcome.reason else ""
        self.stdout.write(f"{outcome.action} {outcome.kind} {outcome.email}{detail}".replace("  ", " "))
