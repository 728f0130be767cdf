"""Helpers shared by the send_* management commands."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from mailer.sending.models import Send
from mailer.sending.progress import send_is_settled, send_progress


def send_get(send_id: int) -> Send:
    try:
        return Send.objects.select_related("issue").get(pk=send_id)
    except Send.DoesNotExist:
        raise CommandError(f"there is no send {send_id}; list sends with send_status --all") from None


def progress_line(p: dict[str, Any], width: int = 30) -> str:
    done = p["sent"] + p["failed"] + p["bounced"] + p["skipped"]
    total = max(p["planned"], 1)
    filled = int(width * done / total)
    return (f"[{'#' * filled}{'.' * (width - filled)}] {100 * done / total:5.1f}% "
            f"{done}/{p['planned']} sent {p['sent']} failed {p['failed']} "
            f"bounced {p['bounced']} skipped {p['skipped']} retrying {p['retrying']} "
            f"{_rate_text(p)} ({p['status']})")


def _rate_text(p: dict[str, Any]) -> str:
    """Live rate and ETA while sending; once it stopped, the average over its duration."""
    rate = p["throughput"]
    shown = f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"
    if p.get("throughput_kind") == "average":
        took = p.get("duration_seconds")
        return f"avg {shown} msg/s" + (f" over {took:.1f}s" if took is not None else "")
    eta = f" ETA {math.ceil(p['eta_seconds'])}s" if p.get("eta_seconds") else ""
    return f"{shown} msg/s{eta}"


def stream_writer(wrapper: OutputWrapper) -> Callable[[str], None]:
    """Write to a command's stderr exactly as given (no added newline, no colour)."""
    def write(text: str) -> None:
        wrapper.write(text, style_func=lambda s: s, ending="")
        wrapper.flush()
    return write


def progress_wait(send_id: int, *, write: Callable[[str], None], tty: bool,
                  interval: float = 0.5, timeout: float | None = None) -> dict[str, Any]:
    """Draw a progress bar with ``write`` until the send settles (done, cancelled,
    failed, paused) or ``timeout`` passes; returns the last progress read from the
    database. On a terminal the bar redraws in place; otherwise one line per change."""
    started = time.monotonic()
    last = ""
    while True:
        p = send_progress(send_id)
        line = progress_line(p)
        if tty:
            write("\r" + line)
        elif line != last:
            write(line + "\n")
        last = line
        if send_is_settled(p) or (timeout is not None and time.monotonic() - started > timeout):
            if tty:
                write("\n")
            return p
        time.sleep(interval)
