"""The native MJML compiler in a process of its own (run as a script, see ``native``).

Kept free of Django and of the ``mailer`` package so the process starts in ~50 ms and
holds nothing a crash could lose. Protocol over stdin/stdout, repeated until EOF:
request = 8-byte big-endian length + UTF-8 MJML; reply = 1 status byte (0 HTML,
1 the compiler's ValueError message) + 8-byte length + UTF-8 payload.
"""

from __future__ import annotations

import struct
import sys
import threading
from typing import BinaryIO

# A thread with a large stack: the limits in ``limits.py`` keep nesting far below what
# even a small stack holds; this keeps that margin whatever the stack ulimit is.
STACK_BYTES = 256 * 1024 * 1024


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _compile(mjml: str) -> tuple[int, str]:
    from mjml import mjml2html

    result: list[tuple[int, str]] = []

    def run() -> None:
        try:
            result.append((0, str(mjml2html(mjml))))
        except ValueError as exc:
            result.append((1, str(exc)))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return result[0] if result else (1, "the compiler stopped without an answer")


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    threading.stack_size(STACK_BYTES)
    while True:
        header = _read_exact(inp, 8)
        if header is None:
            return
        body = _read_exact(inp, struct.unpack(">Q", header)[0])
        if body is None:
            return
        status, payload = _compile(body.decode("utf-8", "surrogatepass"))
        data = payload.encode("utf-8", "surrogatepass")
        out.write(bytes([status]) + struct.pack(">Q", len(data)) + data)
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
