"""docker-compose.yml cannot be started here (no images can be pulled); these tests keep
its structure honest: every service the production shape needs, every command it runs
exists, every variable production requires is set, and the data lives in volumes."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "web", "worker", "beat", "bounces"}
# What mailer/settings.py refuses to start without when DEBUG is off.
PRODUCTION_REQUIRED = {"SECRET_KEY", "SITE_URL", "DATABASE_URL", "CELERY_BROKER_URL", "SMTP_URL"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, Any]:
    return compose()["services"]


def test_it_declares_every_production_service() -> None:
    assert {"proxy", "web", "worker", "beat", "bounces", "postgres", "redis"} <= set(services())


def test_mailpit_runs_only_in_the_staging_profile() -> None:
    assert services()["mailpit"]["profiles"] == ["staging"]
    assert all("profiles" not in s for name, s in services().items() if name != "mailpit")


def test_every_app_service_command_exists_in_the_project() -> None:
    from django.core.management import get_commands

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in APP_SERVICES:
        command = services()[name]["command"]
        program = command[0]
        if program == "newsletter":
            module, func = scripts["newsletter"].split(":")
            assert callable(getattr(importlib.import_module(module), func)), name
            assert command[1] in get_commands(), f"{name} runs unknown command {command[1]}"
        elif program == "gunicorn":
            module, attr = command[1].split(":")
            assert attr == "application" and (ROOT / (module.replace(".", "/") + ".py")).exists()
            assert "--preload" in command  # a configuration error stops gunicorn instead of looping
        elif program == "celery":
            assert command[1:3] == ["-A", "mailer"], name
            assert command[3] in {"worker", "beat"}, name
        else:
            raise AssertionError(f"service {name} runs unknown program {program}")


def test_app_services_get_every_variable_production_requires() -> None:
    for name in APP_SERVICES:
        env = services()[name]["environment"]
        assert env["DEBUG"] == "0", name
        assert PRODUCTION_REQUIRED <= set(env), (name, PRODUCTION_REQUIRED - set(env))
        assert env["SITE_URL"].startswith("https://"), name
        assert env["SMTP_URL"].startswith("${SMTP_URL:?"), "the relay is the operator's to name"


def test_settings_require_what_compose_provides() -> None:
    settings = (ROOT / "mailer" / "settings.py").read_text()
    required = set(re.findall(r'production_required\(\s*"([A-Z_]+)"', settings))
    assert required == PRODUCTION_REQUIRED


def test_web_and_workers_share_the_media_volume() -> None:
    for name in ("web", "worker", "bounces"):
        mounts = services()[name]["volumes"]
        media_root = services()[name]["environment"]["MEDIA_ROOT"]
        assert f"media:{media_root}" in mounts, name
    assert {"pgdata", "redisdata", "media"} <= set(compose()["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services()["postgres"]["volumes"]
    assert "redisdata:/data" in services()["redis"]["volumes"]


def test_redis_persists_its_queue() -> None:
    assert "--appendonly" in services()["redis"]["command"]


def test_only_the_proxy_and_the_bounce_server_are_published() -> None:
    published = {name for name, s in services().items() if s.get("ports")}
    assert published == {"proxy", "bounces", "mailpit"}
    assert services()["bounces"]["ports"] == ["25:2525"]
    assert all(p.startswith("127.0.0.1:") for p in services()["mailpit"]["ports"])


def test_healthchecks_use_healthz_and_the_proxy_waits_for_a_healthy_web() -> None:
    assert "/healthz" in " ".join(services()["web"]["healthcheck"]["test"])
    assert services()["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_proxy_forwards_to_the_web_app_with_the_scheme() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "X-Forwarded-Proto" in caddyfile
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services()["proxy"]["volumes"]


def test_exactly_one_beat() -> None:
    assert services()["beat"]["deploy"]["replicas"] == 1


def test_the_image_installs_the_production_extra_and_collects_static_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '-e ".[prod]"' in dockerfile  # editable: templates/ and examples/ stay beside the code
    assert "newsletter collectstatic --noinput" in dockerfile
    assert "--preload" in dockerfile
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("gunicorn") for dep in extras["prod"])


def test_the_example_env_names_every_variable_compose_requires() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    example = {line.split("=", 1)[0] for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
               if "=" in line and not line.startswith("#")}
    assert required <= example, required - example


def test_the_console_command_is_manage_py() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["newsletter"] == "mailer.cli:main"
    assert "from mailer.cli import main" in (ROOT / "manage.py").read_text()
