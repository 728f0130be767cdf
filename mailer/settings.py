"""Settings, read from environment variables.

Defaults run the embedded stack (SQLite in var/, a file-system broker, a local
SMTP sink); production sets DATABASE_URL, CELERY_BROKER_URL, SMTP_URL,
SITE_URL and SECRET_KEY. A bad value stops start-up with the variable's name.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from mailer.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_rates,
    env_required,
    env_str,
    env_url,
    smtp_from_url,
    url_masked,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)


def production_required(name: str, development_default: str, hint: str) -> str:
    """With DEBUG off there is no fallback: a development default here (the local sink,
    the file-system broker, SQLite in var/) would silently misroute or lose mail."""
    if DEBUG:
        return env_str(name, development_default)
    return env_required(name, hint)


SECRET_KEY = production_required(
    "SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production",
    "set SECRET_KEY to a long random string "
    "(python -c 'import secrets; print(secrets.token_urlsafe(50))')",
)
SITE_URL = env_url("SITE_URL", production_required(
    "SITE_URL", "http://127.0.0.1:8000",
    "set SITE_URL to the public https address of the web app, e.g. https://news.example.org",
), schemes=("http", "https"))
if not DEBUG and not SITE_URL.startswith("https://"):
    # Every email's one-click unsubscribe link is built on SITE_URL and must be https
    # (RFC 8058 §3.1; Gmail and Yahoo ignore http List-Unsubscribe URIs).
    raise ConfigError(f"SITE_URL={SITE_URL!r} must start with https:// when DEBUG is off; "
                      "set SITE_URL to the public https address of the web app")
SITE_HOST = urlsplit(SITE_URL).hostname or "localhost"
SITE_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(SITE_URL))
# Production answers only to SITE_URL's host (requests for any other Host get 400);
# development also answers on the loopback names.
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [*LOCAL_HOSTS, SITE_HOST] if DEBUG else [SITE_HOST])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_ORIGIN])

# --- Behind a TLS-terminating proxy -------------------------------------------
# The proxy (Caddy in docker-compose.yml) speaks https to the world and http to us; it
# says which in X-Forwarded-Proto. Trust that header only when a proxy always sets it.
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# HSTS: browsers refuse plain http to this host for this long once they have seen it.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading commits the whole registrable domain to https in browsers' built-in lists;
# that is the organisation's decision, not this app's, so it is off unless asked for.
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

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
    "mailer.brand",
    "mailer.sending",
    "mailer.sink",
    "mailer.bounces",
    "mailer.web",
    "mailer.engagement",
    "ninja",
]

MIDDLEWARE = [
    # First: /healthz answers the container healthcheck on any Host, over plain http.
    "mailer.core.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files with hashed names and far-future caching, in every mode.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mailer.web.csp.ContentSecurityPolicyMiddleware",
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
                "mailer.brand.context_processors.brand",
            ],
        },
    },
]
EMAIL_TEMPLATES_DIR = BASE_DIR / "templates" / "email"

DATABASES = {
    "default": database_from_url("DATABASE_URL", production_required(
        "DATABASE_URL", "sqlite:///var/db.sqlite3",
        "set DATABASE_URL to postgres://USER:PASSWORD@HOST:5432/DBNAME",
    ), base_dir=BASE_DIR)
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
# A staff session left idle this long ends (each request renews it).
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", SESSION_COOKIE_AGE, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "mailer" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Almaty")
USE_I18N = True
FORMAT_MODULE_PATH = ["mailer.formats"]  # one date format per language (mailer/formats/)
USE_TZ = True

# Emails point at SITE_URL/static/... (social icons) and SITE_URL/media/... (photos):
# both are served by the app itself, so a sent newsletter's images work with no proxy
# rules. Static files are collected at image build (`newsletter collectstatic`).
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Browsers and mail clients may keep a media file this long (uploads never change name
# or content: a new upload gets a new name).
MEDIA_CACHE_SECONDS = env_int("MEDIA_CACHE_SECONDS", 7 * 24 * 3600, minimum=0)
WHITENOISE_USE_FINDERS = DEBUG  # development serves each app's static/ without collectstatic
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed copies (far-future cache) beside the original names, which emails use and
    # which therefore stay valid across deploys; development serves from the apps.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Mail -------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "IOM Central Asia <newsletter@news.example.org>")
MAIL_DOMAIN = env_str("MAIL_DOMAIN", "news.example.org")  # Message-ID right side, List-Id
BOUNCE_DOMAIN = env_str("BOUNCE_DOMAIN", MAIL_DOMAIN)
FEEDBACK_SENDER_ID = env_str("FEEDBACK_SENDER_ID", "iomcanews")
POSTAL_ADDRESS = env_str(
    "POSTAL_ADDRESS", "IOM Sub-Regional Coordination Office for Central Asia, Astana, Kazakhstan"
)
SMTP_URL = production_required(
    "SMTP_URL", "smtp://127.0.0.1:2525",
    "set SMTP_URL to your relay, e.g. smtp+starttls://USER@relay.example.org:587",
)
SMTP_ROUTE = smtp_from_url("SMTP_URL", SMTP_URL)
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 200, minimum=1)
# SMTP sessions each worker process keeps in flight (threads; a killed process may leave
# one possibly duplicated message per connection). 8 measured best on two cores
# (benchmarks/send.py: less CPU per message than 4, as more outcomes share a statement).
SEND_CONNECTIONS_PER_WORKER = env_int("SEND_CONNECTIONS_PER_WORKER", 8, minimum=1)
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
# The sink mailbox needs a staff login unless opened on purpose (issue 10: DEBUG=1 alone
# left it public); scripts/demo.sh opens it for the demo.
SINK_PAGES_PUBLIC = env_bool("SINK_PAGES_PUBLIC", False)

# --- Celery -----------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = production_required(
    "CELERY_BROKER_URL", "filesystem://localhost//",
    "set CELERY_BROKER_URL to redis://HOST:6379/0 (shared by the web app, workers and beat)",
)
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "amqp", "pyamqp",
                                                 "memory"}:
    raise ConfigError(
        f"CELERY_BROKER_URL={url_masked(CELERY_BROKER_URL)!r} is not a supported broker; set it to "
        "redis://HOST:6379/0, amqp://USER:PASS@HOST:5672// or filesystem://"
    )
# Each worker's main process records that it is alive this often; /healthz calls the
# workers stale when none has done so for WORKER_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 15, minimum=1)
WORKER_STALE_SECONDS = env_int("WORKER_STALE_SECONDS", 90, minimum=2)
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

# --- Security
# Refuse control characters (NUL breaks PostgreSQL text) in any form field or JSON body
# with a 4xx naming the field, instead of a 500 from deep inside a view (issue 10).
MIDDLEWARE += ["mailer.core.textguard.ControlCharacterGuard"]
# Unsubscribe links stop working after this many days (an expired one offers to mail a
# fresh preferences link), so a forwarded old email does not open someone's page forever.
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env_int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", 365, minimum=30)
# Largest CSV the staff app imports in a web request (~2 MB ≈ 40,000 rows ≈ 30 s); bigger
# files go through `newsletter import_subscribers`, which streams and reports progress.
# Test messages one staff member may send per hour (they go to any typed-in address).
TEST_SEND_LIMIT_PER_HOUR = env_int("TEST_SEND_LIMIT_PER_HOUR", 50, minimum=1)
WEB_IMPORT_MAX_BYTES = env_int("WEB_IMPORT_MAX_BYTES", 2_000_000, minimum=10_000)

# --- Engagement tracking
# Mode of new lists (off | aggregate | per-person); aggregate counts without storing who.
TRACKING_DEFAULT = env_choice("TRACKING_DEFAULT", "aggregate", ("off", "aggregate", "per-person"))
# Per-person events older than this are stripped of who they were about (counts stay).
TRACKING_RETENTION_DAYS = env_int("TRACKING_RETENTION_DAYS", 180, minimum=1)
# Hits wait in an intake table (one INSERT each); beat turns them into events this often.
TRACKING_FLUSH_SECONDS = env_int("TRACKING_FLUSH_SECONDS", 10, minimum=1)
# Clicks this soon after delivery on several links of one message are a scanner's, not a person's.
TRACKING_SCANNER_SECONDS = env_int("TRACKING_SCANNER_SECONDS", 60, minimum=0)
# ...when they reach this many different links (or every link of a message with fewer).
TRACKING_SCANNER_LINKS = env_int("TRACKING_SCANNER_LINKS", 3, minimum=2)
