from __future__ import annotations

from pathlib import Path

import pytest

from mailer.env import ConfigError, database_from_url, env_bool, smtp_from_url


def test_it_resolves_relative_sqlite_paths_against_the_project(tmp_path: Path) -> None:
    db = database_from_url("DATABASE_URL", "sqlite:///var/x.sqlite3", base_dir=tmp_path)
    assert db["NAME"] == str(tmp_path / "var" / "x.sqlite3")


def test_it_keeps_absolute_sqlite_paths(tmp_path: Path) -> None:
    db = database_from_url("DATABASE_URL", f"sqlite:///{tmp_path}/abs.sqlite3", base_dir=Path("/x"))
    assert db["NAME"] == f"{tmp_path}/abs.sqlite3"


def test_it_parses_postgres_urls_with_escaped_passwords() -> None:
    db = database_from_url("DATABASE_URL", "postgres://app:p%40ss@db.internal:6543/news",
                           base_dir=Path("/"))
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "app", "p@ss", "db.internal", "6543", "news")


def test_it_refuses_a_postgres_url_without_database() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        database_from_url("DATABASE_URL", "postgres://db.internal", base_dir=Path("/"))


@pytest.mark.parametrize(("url", "security", "port"), [
    ("smtp://127.0.0.1:2525", "plain", 2525),
    ("smtp+starttls://user:secret@relay.example.org", "starttls", 587),
    ("smtps://user:secret@relay.example.org", "tls", 465),
])
def test_it_parses_smtp_urls(url: str, security: str, port: int) -> None:
    route = smtp_from_url("SMTP_URL", url)
    assert (route.security, route.port) == (security, port)


def test_it_decodes_smtp_credentials() -> None:
    route = smtp_from_url("SMTP_URL", "smtp+starttls://me%40example.org:p%2Fw@relay:587")
    assert (route.username, route.password) == ("me@example.org", "p/w")


def test_it_reads_booleans_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "sometimes")
    with pytest.raises(ConfigError, match="FLAG='sometimes'"):
        env_bool("FLAG", False)
