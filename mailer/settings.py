"""Settings, read from environment variables.

Defaults run the embedded stack (SQLite in var/, a file-system broker, a local
SMTP sink); production sets DATABASE_URL, CELERY_BROKER_URL, SMTP_URL,
SITE_URL and SECRET_KEY. A bad value stops start-up with the variable's name.
"""

from __future__ import annotations

import os
from pathlib import Path

from mailer.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_rates,
    env_str,
    env_url,
    smtp_from_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY is not set and DEBUG is off; set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
if not DEBUG and not SITE_URL.startswith("https://"):
    # Every email's one-click unsubscribe link is built on SITE_URL and must be https
    # (RFC 8058 §3.1; Gmail and Yahoo ignore http List-Unsubscribe URIs).
    raise ConfigError(f"SITE_URL={SITE_URL!r} must start with https:// when DEBUG is off; "
                      "set SITE_URL to the public https address of the web app")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "mailer.web.admin_site.StaffAdminConfig",  # Django's admin, themed, 403 for non-admin staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mailer.core",
    "subscribers",
    "mailer.issues",
    "mailer.sending",
    "mailer.sink",
    "mailer.bounces",
    "mailer.web",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mailer.urls"
WSGI_APPLICATION = "mailer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates" / "web"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
EMAIL_TEMPLATES_DIR = BASE_DIR / "templates" / "email"

DATABASES = {
    "default": database_from_url(
        "DATABASE_URL", env_str("DATABASE_URL", "sqlite:///var/db.sqlite3"), base_dir=BASE_DIR
    )
}
if str(DATABASES["default"]["ENGINE"]).endswith("sqlite3"):
    # A file, not :memory:, so that test worker processes can open the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Reverse proxies in front of the web app whose X-Forwarded-For entries are believed.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Login throttling: failures per username+IP and per IP before a lockout.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 50, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# Sends to more recipients than this wait for a second Admin's approval (0 = never).
SEND_APPROVAL_THRESHOLD = env_int("SEND_APPROVAL_THRESHOLD", 0, minimum=0)
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "mailer" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Almaty")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Mail -------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "IOM Central Asia <newsletter@news.example.org>")
MAIL_DOMAIN = env_str("MAIL_DOMAIN", "news.example.org")  # Message-ID right side, List-Id
BOUNCE_DOMAIN = env_str("BOUNCE_DOMAIN", MAIL_DOMAIN)
FEEDBACK_SENDER_ID = env_str("FEEDBACK_SENDER_ID", "iomcanews")
POSTAL_ADDRESS = env_str(
    "POSTAL_ADDRESS", "IOM Sub-Regional Coordination Office for Central Asia, Astana, Kazakhstan"
)
SMTP_URL = env_str("SMTP_URL", "smtp://127.0.0.1:2525")
SMTP_ROUTE = smtp_from_url("SMTP_URL", SMTP_URL)
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 200, minimum=1)
# Short, renewed by a heartbeat while the worker lives: a dead worker's rows move within ~1 min.
SEND_LEASE_SECONDS = env_int("SEND_LEASE_SECONDS", 30, minimum=10)
SEND_RECONCILE_SECONDS = env_int("SEND_RECONCILE_SECONDS", 20, minimum=1)
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 5, minimum=1)
SEND_RATE_PER_SECOND = env_float("SEND_RATE_PER_SECOND", 0.0, minimum=0.0)  # 0 = unlimited
SEND_RETRY_BASE_SECONDS = env_float("SEND_RETRY_BASE_SECONDS", 30.0, minimum=0.0)
SEND_TASK_QUEUE = env_str("SEND_TASK_QUEUE", "celery")
SEND_DOMAIN_RATES = env_rates("SEND_DOMAIN_RATES")  # per recipient domain, e.g. gmail.com=20
SEND_ERROR_BUDGET = env_float("SEND_ERROR_BUDGET", 0.2, minimum=0.0)
# A send whose relay keeps deferring (4xx, dropped or refused connections) and has accepted
# nothing for this long is paused with the reason; shorter trouble only slows it down.
SEND_DEFERRAL_PAUSE_SECONDS = env_int("SEND_DEFERRAL_PAUSE_SECONDS", 900, minimum=60)
# A batch whose worker process died this many times (crash loop) pauses its send.
SEND_WORKER_DEATHS_PAUSE = env_int("SEND_WORKER_DEATHS_PAUSE", 3, minimum=1)
# A sending send with no delivery activity for this long shows a "stalled" warning.
SEND_STALL_WARNING_SECONDS = env_int("SEND_STALL_WARNING_SECONDS", 300, minimum=30)
# DKIM signing (RFC 6376) is on when a private key file is given.
DKIM_PRIVATE_KEY_PATH = env_str("DKIM_PRIVATE_KEY_PATH", "")
DKIM_SELECTOR = env_str("DKIM_SELECTOR", "news")
DKIM_DOMAIN = env_str("DKIM_DOMAIN", MAIL_DOMAIN)
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3, minimum=1)
SOFT_BOUNCE_WINDOW_DAYS = env_int("SOFT_BOUNCE_WINDOW_DAYS", 30, minimum=1)
SINK_DIR = Path(env_str("SINK_DIR", str(VAR_DIR / "sink")))
# The sink mailbox page is open to anyone in development (it holds only demo mail).
SINK_PAGES_PUBLIC = env_bool("SINK_PAGES_PUBLIC", DEBUG)

# --- Celery -----------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "amqp", "pyamqp",
                                                 "memory"}:
    raise ConfigError(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r} is not a supported broker; set it to "
        "redis://HOST:6379/0, amqp://USER:PASS@HOST:5672// or filesystem://"
    )
REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis")
                    else "")

# Login throttling and the subscribe form's rate limit count in the cache: it must be
# shared by every web process in production (Redis); in-process memory is the embedded default.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
         "KEY_PREFIX": "nl"}
        if REDIS_URL else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
