from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.sending.control import send_cancel, send_pause, send_resume, send_retry_failed
from mailer.sending.management.commands._common import send_get
from mailer.sending.state import TransitionRefused


class Command(BaseCommand):
    help = "Pause, resume or cancel a send, or retry its failed deliveries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("send_id", type=int)
        parser.add_argument("action", choices=["pause", "resume", "cancel", "retry-failed"])

    def handle(self, *args: Any, **opts: Any) -> None:
        send_id, action = opts["send_id"], opts["action"]
        send_get(send_id)
        try:
            if action == "pause":
                send_pause(send_id)
                self.stdout.write(f"Send {send_id} paused; workers stop after their current "
                                  f"chunk. Resume with: send_control {send_id} resume")
            elif action == "resume":
                n = send_resume(send_id)
                self.stdout.write(f"Send {send_id} resumed; {n} batches queued again.")
            elif action == "cancel":
                n = send_cancel(send_id)
                self.stdout.write(f"Send {send_id} cancelled; {n} recipients not yet mailed are "
                                  "recorded as skipped (workers finish the messages they hold).")
            else:
                n = send_retry_failed(send_id)
                self.stdout.write(f"Send {send_id}: {n} failed deliveries queued for retry.")
        except TransitionRefused as exc:
            raise CommandError(f"{exc}; nothing was changed") from None
