"""The native MJML compile, isolated in a helper process that a crash cannot spread from.

Why a process: ``limits.py`` keeps known crashing inputs away from mjml-python, but the
compiler is native code fed with what staff write; should another input crash it, a
web process (every user's requests), the editor's preview or a send worker must not
die with it. Each process that compiles starts one helper (``mjml_child.py``, ~50 ms,
once) and reuses it; a compile then costs one pipe round trip (well under a
millisecond beside the compile itself). A helper that dies or overruns
``NATIVE_TIMEOUT_SECONDS`` is replaced on the next compile, and the compile that
caused it ends in a ``RenderError`` saying so.
"""

from __future__ import annotations

import atexit
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from mailer.rendering.limits import NATIVE_TIMEOUT_SECONDS

CHILD = Path(__file__).with_name("mjml_child.py")


class NativeCompilerCrashed(Exception):
    """The helper died or overran its time; the message says which."""


class NativeCompiler:
    """One helper process per compiling process; thread-safe (compiles take turns)."""

    def __init__(self, timeout: float = NATIVE_TIMEOUT_SECONDS,
                 command: tuple[str, ...] = (sys.executable, str(CHILD))) -> None:
        self.timeout = timeout
        self.command = command
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0  # the process that started ``_proc`` (a fork must start its own)

    def compile(self, mjml: str) -> tuple[bool, str]:
        """(True, html) or (False, the compiler's error message for malformed MJML).
        Raises ``NativeCompilerCrashed`` if the helper died or took too long."""
        data = mjml.encode("utf-8", "surrogatepass")
        with self._lock:
            proc = self._helper()
            try:
                assert proc.stdin is not None
                proc.stdin.write(struct.pack(">Q", len(data)) + data)
                proc.stdin.flush()
                reply = self._read_reply(proc)
            except (BrokenPipeError, NativeCompilerCrashed) as exc:
                self._proc = None
                raise NativeCompilerCrashed(self._death(proc, exc)) from None
        return reply[0] == 0, reply[1:].decode("utf-8", "surrogatepass")

    def _helper(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                list(self.command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, close_fds=True)
            self._pid = os.getpid()
        return self._proc

    def _read_reply(self, proc: subprocess.Popen[bytes]) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        buf = b""
        need = 9
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while len(buf) < need:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    proc.kill()
                    raise NativeCompilerCrashed(f"took longer than {self.timeout:g} seconds")
                chunk = os.read(fd, max(need - len(buf), 65536))
                if not chunk:
                    raise NativeCompilerCrashed("stopped")
                buf += chunk
                if len(buf) >= 9:
                    need = 9 + struct.unpack(">Q", buf[1:9])[0]
        return buf[:1] + buf[9:need]

    @staticmethod
    def _death(proc: subprocess.Popen[bytes], exc: BaseException) -> str:
        if str(exc).startswith("took longer"):
            proc.wait()
            return str(exc)
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            return str(exc) if isinstance(exc, NativeCompilerCrashed) else "stopped answering"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return str(exc) if isinstance(exc, NativeCompilerCrashed) else f"exited with {code}"

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and self._pid == os.getpid() and proc.poll() is None:
            proc.kill()
            proc.wait()


NATIVE = NativeCompiler()
atexit.register(NATIVE.close)
