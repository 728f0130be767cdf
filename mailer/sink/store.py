"""Reading the messages the local sink stored (for the demo page and tests)."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from django.conf import settings

MESSAGE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class StoredMessage:
    key: str
    path: Path
    envelope_to: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def to(self) -> str:
        return str(self.message.get("To", self.envelope_to))

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""  # type: ignore[union-attr]


def sink_dir() -> Path:
    return Path(settings.SINK_DIR)


def message_load(path: Path) -> StoredMessage:
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return StoredMessage(path.stem, path, str(msg.get("X-Envelope-To", "")), msg)


def messages_list(limit: int | None = 500) -> list[Path]:
    """Stored messages, newest first (at most ``limit``; None for all)."""
    paths = sorted(sink_dir().glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    return paths if limit is None else paths[:limit]


def message_get(key: str) -> StoredMessage | None:
    if not MESSAGE_ID.match(key):
        return None
    path = sink_dir() / f"{key}.eml"
    return message_load(path) if path.exists() else None


def sink_clear() -> int:
    removed = 0
    for path in sink_dir().glob("*.eml"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
