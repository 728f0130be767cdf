from __future__ import annotations

import time
from typing import Any

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand, CommandParser

from mailer.bounces.server import BounceHandler


class Command(BaseCommand):
    help = "Receive bounces and complaints over SMTP for bounces+…@BOUNCE_DOMAIN."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2526)

    def handle(self, *args: Any, **opts: Any) -> None:
        controller = Controller(BounceHandler(), hostname=opts["host"], port=opts["port"])
        controller.start()
        self.stdout.write(f"bounce server listening on {opts['host']}:{opts['port']}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            controller.stop()
