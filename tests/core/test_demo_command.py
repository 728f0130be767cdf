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
