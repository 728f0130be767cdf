"""Typed readers for environment variables.

Every reader names the variable it refuses and says what to set it to, so a
bad deployment stops at start-up with one line instead of a traceback deep
inside Django or Celery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from mailer.errors import MailerConfigError

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(MailerConfigError):
    """A setting from the environment is missing or malformed."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(
        f"{name}={raw!r} is not a boolean; set {name} to one of: 1, 0, true, false, yes, no, on, off"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; set {name} to a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is too small; set {name} to at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set {name} to e.g. 10 or 0.5") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is too small; set {name} to at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_rates(name: str) -> dict[str, float]:
    """``KEY=RATE,KEY=RATE`` (e.g. ``gmail.com=20,yahoo.com=2.5``) as {key: rate}; keys
    are lower-cased, rates must be positive numbers. Empty or unset: {}."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in os.environ.get(name, "").split(","))):
        key, _, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not key.strip() or rate <= 0:
            raise ConfigError(f"{name} item {item!r} is not DOMAIN=RATE; set {name} to e.g. "
                              "gmail.com=20,yahoo.com=10 (messages per second, above 0)")
        rates[key.strip().lower()] = rate
    return rates


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ConfigError(
            f"{name}={raw!r} is not a valid URL; set {name} to a URL starting with "
            + " or ".join(f"{s}://" for s in schemes)
        )
    return raw.rstrip("/")


def database_from_url(name: str, url: str, *, base_dir: Path) -> dict[str, object]:
    """Translate ``sqlite:///path`` or ``postgres://user:pass@host:port/db`` into Django's dict."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if not raw_path or raw_path == "/":
            raise ConfigError(f"{name}={url!r} names no file; use sqlite:///var/db.sqlite3")
        # sqlite:///rel/path is relative to the project; sqlite:////abs/path is absolute.
        path = Path(raw_path[1:])
        if not path.is_absolute():
            path = base_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on
                # busy_timeout instead of failing with "database is locked" on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        db = unquote(parts.path.lstrip("/"))
        if not db:
            raise ConfigError(f"{name}={url!r} names no database; use postgres://user@host:5432/dbname")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{name}={url!r} has a bad port number") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ConfigError(
        f"{name}={url!r} is not a database URL; set {name} to sqlite:///var/db.sqlite3 "
        "or postgres://USER:PASSWORD@HOST:5432/DBNAME"
    )


@dataclass(frozen=True)
class SmtpRoute:
    """Where outgoing mail goes: parsed from ``SMTP_URL``."""

    host: str
    port: int
    security: str  # "plain" | "starttls" | "tls"
    username: str
    password: str
    timeout: float = 30.0

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465),
                "smtp+tls": ("tls", 465)}


def smtp_from_url(name: str, url: str) -> SmtpRoute:
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ConfigError(
            f"{name}={url!r} is not an SMTP URL; set {name} to smtp://HOST:PORT, "
            "smtp+starttls://USER:PASS@HOST:587 or smtps://USER:PASS@HOST:465"
        )
    security, default_port = SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"{name}={url!r} has a bad port number") from None
    timeout = parse_qs(parts.query).get("timeout", ["30"])[-1]
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise ConfigError(f"{name}={url!r}: timeout={timeout!r} is not a number of seconds") from None
    return SmtpRoute(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=timeout_s,
    )
