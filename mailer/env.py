"""Typed readers for environment variables.

Every reader names the variable it refuses and says what to set it to, so a
bad deployment stops at start-up with one line instead of a traceback deep
inside Django or Celery.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from mailer.errors import MailerConfigError

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(MailerConfigError):
    """A setting from the environment is missing or malformed."""


def url_masked(url: str) -> str:
    """``url`` fit for an error message or a page: whatever follows the user name in the
    user-info part becomes ``***`` (a ``user%3Apassword`` spelling included). Works on the
    raw text up to the last ``@``, not on ``urlsplit``, because a password with ``/`` or
    ``#`` in it ends the parsed netloc early and would slip through."""
    match = _USERINFO.match(url)
    if match is None:
        return url
    scheme, userinfo = match.group(1), match.group(2)
    decoded = unquote(userinfo)
    if ":" not in decoded:
        return url
    return f"{scheme}{decoded.split(':', 1)[0]}:***@{url[match.end():]}"


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)(.*)@", re.DOTALL)  # greedy: the last @


def url_has_password(url: str) -> bool:
    """True if the URL carries a password, including ``user%3Apassword@`` (percent-encoded
    colon in the user name), which ``urlsplit`` reports as a user name with no password
    but which decodes to ``user:password``."""
    parts = urlsplit(url)
    return parts.password is not None or ":" in unquote(parts.username or "")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_required(name: str, hint: str) -> str:
    """A variable production must set: no development fallback may stand in for it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ConfigError(f"{name} is not set and DEBUG is off; {hint}")
    return raw


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


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}; set {name} to one")
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
            f"{name}={url_masked(raw)!r} is not a valid URL; set {name} to a URL starting with "
            + " or ".join(f"{s}://" for s in schemes)
        )
    return raw.rstrip("/")


def database_from_url(name: str, url: str, *, base_dir: Path) -> dict[str, object]:
    """Translate ``sqlite:///path`` or ``postgres://user:pass@host:port/db`` into Django's dict."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if not raw_path or raw_path == "/":
            raise ConfigError(f"{name}={url_masked(url)!r} names no file; use sqlite:///var/db.sqlite3")
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
            raise ConfigError(f"{name}={url_masked(url)!r} names no database; "
                              "use postgres://user@host:5432/dbname")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{name}={url_masked(url)!r} has a bad port number") from None
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
        f"{name}={url_masked(url)!r} is not a database URL; set {name} to sqlite:///var/db.sqlite3 "
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
            f"{name}={url_masked(url)!r} is not an SMTP URL; set {name} to smtp://HOST:PORT, "
            "smtp+starttls://USER:PASS@HOST:587 or smtps://USER:PASS@HOST:465"
        )
    security, default_port = SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"{name}={url_masked(url)!r} has a bad port number") from None
    timeout = parse_qs(parts.query).get("timeout", ["30"])[-1]
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise ConfigError(f"{name}={url_masked(url)!r}: timeout={timeout!r} is not a number "
                          "of seconds") from None
    return SmtpRoute(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=timeout_s,
    )


def host_is_loopback(host: str) -> bool:
    """True for ``localhost`` and literal loopback addresses (127.0.0.0/8, ::1). A name is
    never resolved: what it points to can change after the check."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
