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


# --- production (DEBUG=0): no development fallback ---------------------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Gq2-production-like-secret-key-with-enough-length-and-variety-9fK",
    "SITE_URL": "https://news.example.org",
    "DATABASE_URL": "postgres://newsletter@db.example.org:5432/newsletter",
    "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
    "SMTP_URL": "smtp+starttls://newsletter@relay.example.org:587",
}


def production_without(name: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION.items() if k != name}


@pytest.mark.parametrize("variable", ["SECRET_KEY", "SITE_URL", "DATABASE_URL", "CELERY_BROKER_URL",
                                      "SMTP_URL"])
def test_production_refuses_to_start_without_each_required_variable(variable: str) -> None:
    result = run_manage(production_without(variable))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"newsletter: configuration error: {variable} is not set and "
                                    "DEBUG is off")
    assert result.stderr.count("\n") == 1


def run_program(argv: list[str], overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.update(overrides)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("program", [
    ["gunicorn", "--preload", "--bind", "127.0.0.1:0", "mailer.wsgi:application"],
    ["celery", "-A", "mailer", "worker", "--pool", "solo"],
    ["celery", "-A", "mailer", "beat"],
])
def test_production_servers_refuse_to_start_without_smtp_url(program: list[str]) -> None:
    bin_dir = Path(sys.executable).parent
    result = run_program([str(bin_dir / program[0]), *program[1:]], production_without("SMTP_URL"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "newsletter: configuration error: SMTP_URL is not set and DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_documented_production_settings_pass_the_deploy_check() -> None:
    result = run_manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def shell_print(overrides: dict[str, str], expression: str) -> str:
    result = run_manage(overrides, "shell", "--no-imports", "-c",
                        f"from django.conf import settings; print({expression})")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_answers_only_to_the_site_host_and_trusts_its_origin() -> None:
    assert shell_print(PRODUCTION, "settings.ALLOWED_HOSTS") == "['news.example.org']"
    assert shell_print(PRODUCTION, "settings.CSRF_TRUSTED_ORIGINS") == "['https://news.example.org']"


def test_production_trusts_the_proxy_scheme_redirects_to_https_and_sends_hsts() -> None:
    values = shell_print(PRODUCTION, "settings.SECURE_PROXY_SSL_HEADER, settings.SECURE_SSL_REDIRECT, "
                                     "settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE")
    assert values == "('HTTP_X_FORWARDED_PROTO', 'https') True 31536000 True"


def test_hsts_and_the_proxy_header_are_configurable() -> None:
    values = shell_print({**PRODUCTION, "HSTS_SECONDS": "600", "TRUST_X_FORWARDED_PROTO": "0"},
                         "settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER")
    assert values == "600 None"


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
