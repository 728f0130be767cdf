"""Bad configuration stops start-up with one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "SITE_URL"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *(args or ("check",))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"SMTP_URL": "http://mail.example.org"}, "SMTP_URL"),
        ({"SEND_BATCH_SIZE": "lots"}, "SEND_BATCH_SIZE"),
        ({"SITE_URL": "ftp://x"}, "SITE_URL"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL"),
        ({"DEBUG": "0", "SECRET_KEY": "k" * 50, "SITE_URL": "http://news.example.org"}, "SITE_URL"),
    ],
)
def test_it_refuses_bad_setting_naming_the_variable(overrides: dict[str, str], variable: str) -> None:
    result = run_manage(overrides)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert variable in result.stderr
    assert result.stderr.startswith("newsletter: configuration error:")


def test_it_starts_with_defaults_and_nothing_installed() -> None:
    result = run_manage({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"SMTP_URL": "http://user:hunter2@mail.example.org"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://user:hunter2@mail.example.org:99999"}, "SMTP_URL"),
        ({"DATABASE_URL": "mysql://root:hunter2@localhost/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://root:hun/ter2@localhost"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "kafka://user:hunter2@broker"}, "CELERY_BROKER_URL"),
    ],
)
def test_a_configuration_error_never_echoes_the_password(overrides: dict[str, str],
                                                         variable: str) -> None:
    result = run_manage(overrides)
    assert result.returncode == 2 and variable in result.stderr
    assert "hunter2" not in result.stderr and "hun/ter2" not in result.stderr
    assert ":***@" in result.stderr
