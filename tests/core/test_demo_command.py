"""The quick start's demo, end to end, as a user runs it (in a throw-away VAR_DIR)."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email.policy import default as default_policy
from pathlib import Path

import pytest

from mailer.sink.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_demo(var_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update({"VAR_DIR": str(var_dir), "DATABASE_URL": f"sqlite:///{var_dir}/demo.sqlite3",
                "SMTP_URL": f"smtp://127.0.0.1:{port}"})
    return subprocess.run([sys.executable, "manage.py", "demo", "--no-serve"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    var_dir = tmp_path_factory.mktemp("demo-var")
    port = free_port()
    return var_dir, [run_demo(var_dir, port), run_demo(var_dir, port)]


@pytest.mark.slow
def test_the_demo_exits_cleanly_twice(demo_twice: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    _, runs = demo_twice
    for run in runs:
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]


@pytest.mark.slow
def test_the_demo_prints_the_admin_password_and_where_to_look(
        demo_twice: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    _, runs = demo_twice
    out = runs[-1].stdout
    assert "user: admin   password: " in out
    assert "/sink/" in out and "/admin/" in out


@pytest.mark.slow
def test_the_sink_holds_one_message_per_distinct_recipient(
        demo_twice: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    var_dir, runs = demo_twice
    messages = list((var_dir / "sink").glob("*.eml"))
    recipients = [email.message_from_bytes(p.read_bytes(), policy=default_policy)["To"].addresses[0]
                  .addr_spec.lower() for p in messages]
    assert len(recipients) == len(set(recipients))
    assert f"distinct people on the two lists: {len(recipients)}; messages in the sink: {len(recipients)}" \
        in runs[-1].stdout
    assert 250 <= len(recipients) <= 270


@pytest.mark.slow
def test_the_no_serve_demo_says_how_to_browse_what_it_printed(
        demo_twice: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    _, runs = demo_twice
    assert "Nothing serves these addresses now (--no-serve)" in runs[-1].stdout
    assert "newsletter runserver 127.0.0.1:8000" in runs[-1].stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[-1][:1] != "Z"


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.slow
def test_sigterm_stops_the_serving_demo_and_its_worker(tmp_path: Path) -> None:
    import re
    import signal
    import time

    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update({"VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
                "SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "PYTHONUNBUFFERED": "1"})
    demo = subprocess.Popen([sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{free_port()}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    output, worker_pid, deadline = [], 0, time.monotonic() + 240
    try:
        for line in demo.stdout:
            output.append(line)
            if match := re.search(r"^\s+pid (\d+), log", line):
                worker_pid = int(match.group(1))
            if "Serving the web app" in line or time.monotonic() > deadline:
                break
        assert worker_pid and _alive(worker_pid), "".join(output)[-3000:]
        time.sleep(1)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        stop = time.monotonic() + 30
        while (_alive(worker_pid) or _group_members(worker_pid)) and time.monotonic() < stop:
            time.sleep(0.2)
        assert not _alive(worker_pid)
        assert _group_members(worker_pid) == []
    finally:
        if demo.poll() is None:
            demo.kill()


def test_the_demo_passes_on_send_issue_lines_as_they_come_and_keeps_the_send_id() -> None:
    from io import StringIO

    from django.core.management.base import OutputWrapper

    from mailer.core.management.commands.demo import _LinesIndented

    shown = StringIO()
    out = _LinesIndented(OutputWrapper(shown))
    out.write("Send 7 of 'iom-3': 263 recipients planned and queued.\n")
    assert shown.getvalue() == "  Send 7 of 'iom-3': 263 recipients planned and queued.\n"
    out.write("done: sent 263, failed 0\n")
    out.write("7\n")
    assert out.send_id == 7 and shown.getvalue().splitlines()[-1] == "  done: sent 263, failed 0"
