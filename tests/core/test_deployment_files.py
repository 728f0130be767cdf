"""docker-compose.yml cannot run here (no Docker engine); these tests keep it honest."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_declares_every_production_service() -> None:
    services = set(compose()["services"])
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= services


def test_every_app_service_command_exists_in_the_project() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, service in compose()["services"].items():
        command = service.get("command")
        if "build" not in service or not command:
            continue
        program = command[0]
        if program == "newsletter":
            module, func = scripts["newsletter"].split(":")
            assert callable(getattr(importlib.import_module(module), func)), name
        elif program == "gunicorn":
            module, attr = command[1].split(":")
            assert attr == "application" and (ROOT / (module.replace(".", "/") + ".py")).exists()
        elif program == "celery":
            assert command[1:3] == ["-A", "mailer"], name
            assert command[3] in {"worker", "beat"}, name
            assert importlib.import_module("mailer.celery").app.main == "mailer"
        else:
            raise AssertionError(f"service {name} runs unknown program {program}")


def test_the_image_installs_the_production_extra() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '-e ".[prod]"' in dockerfile  # editable: templates/ and examples/ stay beside the code
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("gunicorn") for dep in extras["prod"])


def test_the_console_command_is_manage_py() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["newsletter"] == "mailer.cli:main"
    assert "from mailer.cli import main" in (ROOT / "manage.py").read_text()
