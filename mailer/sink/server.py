"""A local SMTP sink (aiosmtpd) that stores every message it accepts as an .eml file.

Used by the demo and by tests: real SMTP on 127.0.0.1, nothing leaves the machine.
Each file starts with ``X-Envelope-From`` / ``X-Envelope-To`` lines (as Postfix's
``envelope`` headers do), then the message exactly as received.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class StoreHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("ascii", "replace")
        name = f"{uuid.uuid4().hex}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(head + content)
        os.replace(tmp, self.directory / name)  # readers never see half a message
        return "250 2.0.0 Ok: stored"


class SinkServer:
    """Start/stop an SMTP sink on ``host:port`` storing into ``directory``.

    ``port=0`` is not supported by aiosmtpd's Controller; pick a free port with
    ``free_port()``.
    """

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 2525,
                 handler: Any = None):
        self.directory = directory
        self.host = host
        self.port = port
        self.controller = Controller(handler or StoreHandler(directory), hostname=host, port=port,
                                     data_size_limit=10 * 1024 * 1024,
                                     decode_data=False)

    def start(self) -> SinkServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"), key=lambda p: p.stat().st_mtime)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
