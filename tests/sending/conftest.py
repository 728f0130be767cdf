"""Fixtures for the send pipeline: an imported issue, an audience of overlapping lists,
an SMTP sink, the STANDARDS.md header checks, and a real Celery worker process.

Service-backed fixtures follow tests/conftest.py: a missing Redis skips the test
unless REQUIRE_SERVICES=1. Sending tests use Redis db 14 (SEND_TEST_REDIS_URL).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from mailer.env import smtp_from_url
from mailer.issues.models import Issue, IssueVariant
from mailer.issues.services import issue_import
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber, Subscription, email_hash

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_ISSUE = ROOT / "tests" / "fixtures" / "iom-central-asia-issue-3.md"
SEND_REDIS_URL = os.environ.get("SEND_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
SITE = "https://news.example.org"


# --- data -----------------------------------------------------------------------------

def subscriber_make(email_addr: str, name: str = "", language: str = "en", **fields: Any,
                    ) -> Subscriber:
    return Subscriber.objects.create(email=email_addr, email_hash=email_hash(email_addr),
                                     name=name, language=language, **fields)


def subscribe(sub: Subscriber, mlist: MailingList, status: str = "confirmed") -> Subscription:
    return Subscription.objects.create(subscriber=sub, mailing_list=mlist, status=status)


@pytest.fixture(autouse=True)
def send_settings(settings: Any) -> Any:
    """https links (STANDARDS rule 1) and a broker that goes nowhere unless a test
    asks for the real one, so tests never drop tasks into a shared queue."""
    settings.SITE_URL = SITE
    settings.MAIL_DOMAIN = "news.example.org"
    settings.BOUNCE_DOMAIN = "bounce.example.org"
    settings.SEND_RATE_PER_SECOND = 0.0
    settings.SEND_RETRY_BASE_SECONDS = 30.0
    celery_broker_use("memory://", {})
    return settings


def celery_broker_use(url: str, options: dict[str, Any]) -> None:
    """Re-point this process's Celery app (its connection and producer pools) at ``url``."""
    from mailer.celery import app

    app.conf.broker_url = url
    app.conf.broker_transport_options = options
    # Forget (do not close: kombu's global producer registry may still hold them) the
    # pools bound to the previous broker, as Celery itself does after a fork.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def issue(db: None) -> Issue:
    result = issue_import(FIXTURE_ISSUE.read_text(encoding="utf-8"), language="en",
                          slug="issue-3")
    ru_source = FIXTURE_ISSUE.read_text(encoding="utf-8").replace(
        "RETURNING HOME", "ВОЗВРАЩЕНИЕ ДОМОЙ", 1)
    issue_import(ru_source, language="ru", slug="issue-3")
    IssueVariant.objects.filter(issue=result.issue, language="ru").update(
        subject="Выпуск №3: возвращение домой — новости МОМ в Центральной Азии")
    return result.issue


@pytest.fixture
def lists(db: None) -> dict[str, MailingList]:
    return {slug: MailingList.objects.create(slug=slug, name=slug.title())
            for slug in ("partners", "public", "staff")}


@pytest.fixture
def audience(lists: dict[str, MailingList]) -> dict[str, Subscriber]:
    """partners: aida, bek, chris; public: bek, chris, dina (overlap bek, chris)."""
    people = {
        "aida": subscriber_make("aida@ngo.kz", "Аида Касымова", "ru"),
        "bek": subscriber_make("bek@ngo.kg", "Bek O'Neil", "en"),
        "chris": subscriber_make("chris@un.org", "Chris", "en"),
        "dina": subscriber_make("dina@gov.tj", "Дина", "ru"),
    }
    for key in ("aida", "bek", "chris"):
        subscribe(people[key], lists["partners"])
    for key in ("bek", "chris", "dina"):
        subscribe(people[key], lists["public"])
    return people


# --- SMTP sink ------------------------------------------------------------------------

@pytest.fixture
def sink(tmp_path: Path, settings: Any) -> Iterator[SinkServer]:
    port = free_port()
    server = SinkServer(tmp_path / "sink", port=port).start()
    settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=10")
    try:
        yield server
    finally:
        server.stop()


def sink_read(path: Path) -> tuple[str, str, bytes]:
    """(envelope from, envelope to, raw message) of a stored .eml file."""
    raw = path.read_bytes()
    first, second, rest = raw.split(b"\r\n", 2)
    return (first.split(b": ", 1)[1].decode(), second.split(b": ", 1)[1].decode(), rest)


# --- STANDARDS.md checks on a generated message ------------------------------------------

LIST_UNSUB = re.compile(r"<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*")


def standards_check(raw: bytes) -> email.message.EmailMessage:
    """Assert STANDARDS.md rules 1-2 and 8-17 that a single message can show."""
    head, _, _ = raw.partition(b"\r\n\r\n")
    head.decode("ascii")  # rule 13: the header block is ASCII
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"  # rule 14: CRLF only
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # rule 14
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID", "Message-ID",
                 "Date", "From", "List-Id", "Subject", "To"):
        assert len(msg.get_all(name) or []) == 1, f"{name} must appear once"
    unsub = str(msg["List-Unsubscribe"])
    assert LIST_UNSUB.fullmatch(unsub) and unsub.count("https://") == 1  # rule 1
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"  # rule 2
    fields = str(msg["Feedback-ID"]).split(":")  # rule 8
    assert 2 <= len(fields) <= 4 and 5 <= len(fields[-1]) <= 15
    assert len(getaddresses([str(msg["From"])])) == 1  # rule 9
    assert re.fullmatch(r"<[^<>@\s]+@news\.example\.org>", str(msg["Message-ID"]))  # rule 10
    assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None  # rule 11
    assert msg.get_content_type() == "multipart/alternative"  # rule 12
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    for part in parts:  # rule 15: QP lines <= 76
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
        assert all(len(line) <= 76 for line in part.get_payload().splitlines())
    assert re.fullmatch(r"<[a-z0-9-]+\.news\.example\.org>", str(msg["List-Id"]))  # rule 16
    raw_subject = head.split(b"\r\nSubject: ", 1)[1].split(b"\r\n")[0].decode()
    str(make_header(decode_header(raw_subject)))  # rule 13: encoded words decode
    assert all(len(w) <= 75 for w in re.findall(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=", head))
    return msg


@pytest.fixture
def standards() -> Callable[[bytes], email.message.EmailMessage]:
    return standards_check


# --- a real Celery worker --------------------------------------------------------------

def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def send_redis_url() -> str:
    if not _reachable(SEND_REDIS_URL, 6379):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable at {SEND_REDIS_URL} and REQUIRE_SERVICES=1")
        pytest.skip(f"Redis not reachable at {SEND_REDIS_URL}")
    return SEND_REDIS_URL


@pytest.fixture
def send_queue_name(settings: Any) -> str:
    """A queue of this test's own: test runs (anyone's) and benchmarks share the Redis
    db, so nothing may flush it or consume another run's tasks."""
    name = f"send-test-{uuid.uuid4().hex[:12]}"
    settings.SEND_TASK_QUEUE = name
    return name


@pytest.fixture
def broker(send_redis_url: str, send_queue_name: str, settings: Any) -> Iterator[str]:
    """Point this process's Celery app at our Redis db; remove our queue afterwards."""
    import redis

    settings.CELERY_BROKER_URL = send_redis_url
    settings.REDIS_URL = send_redis_url
    celery_broker_use(send_redis_url, {"visibility_timeout": 3600})
    yield send_redis_url
    celery_broker_use("memory://", {})
    redis.Redis.from_url(send_redis_url).delete(send_queue_name)


def database_url_for_worker() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(cfg['NAME']).resolve()}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


class WorkerProcess:
    """``celery -A mailer worker`` in a subprocess with the test's database and broker."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 1,
                 queues: str | None = None):
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.queues = queues or env["SEND_TASK_QUEUE"]
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        pool = ["--pool=solo"] if self.concurrency == 1 else ["--pool=prefork",
                                                               f"-c{self.concurrency}"]
        return [sys.executable, "-m", "celery", "-A", "mailer", "worker", *pool, "-l", "warning",
                "-Q", self.queues, "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"test-{time.monotonic_ns()}@%h"]

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and children): no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def worker_env(broker: str, sink: SinkServer, settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "mailer.settings",
        "DATABASE_URL": database_url_for_worker(),
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": broker,
        "SMTP_URL": f"smtp://127.0.0.1:{sink.port}?timeout=10",
        "SITE_URL": SITE,
        "MAIL_DOMAIN": settings.MAIL_DOMAIN,
        "BOUNCE_DOMAIN": settings.BOUNCE_DOMAIN,
        "SECRET_KEY": django_settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "SEND_TASK_QUEUE": settings.SEND_TASK_QUEUE,
        # Django's system checks import every URLconf; a half-edited view elsewhere in
        # the project must not stop a worker that only sends mail.
        "CELERY_SKIP_CHECKS": "1",
    })
    return env


@pytest.fixture
def worker_factory(worker_env: dict[str, str], tmp_path: Path,
                   ) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(concurrency: int = 1, queues: str | None = None, **extra_env: str) -> WorkerProcess:
        w = WorkerProcess({**worker_env, **extra_env}, tmp_path / "worker.log", concurrency,
                          queues)
        started.append(w.start())
        return w

    yield start
    for w in started:
        w.stop()


class BeatProcess(WorkerProcess):
    """``celery -A mailer beat`` with the test's environment and its own schedule file."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "mailer", "beat", "-l", "warning",
                "-s", str(self.log_path.with_name("celerybeat-schedule"))]


@pytest.fixture
def beat_factory(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., BeatProcess]]:
    started: list[BeatProcess] = []

    def start(**extra_env: str) -> BeatProcess:
        b = BeatProcess({**worker_env, **extra_env}, tmp_path / "beat.log")
        started.append(b)
        b.start()
        return b

    yield start
    for b in started:
        b.stop()


class PrivateRedis:
    """A redis-server of the test's own, without persistence, that can be restarted
    empty on the same port (what a crash of an unpersisted Redis looks like)."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: _reachable(self.url, self.port), timeout=10, what="redis-server")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, down_seconds: float = 1.0) -> None:
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def keys(self) -> int:
        import redis

        return int(redis.Redis.from_url(self.url).dbsize())

    def queued(self, queue: str) -> int:
        """Tasks waiting in ``queue``."""
        import redis

        return int(redis.Redis.from_url(self.url).llen(queue))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed and REQUIRE_SERVICES=1")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path / "redis.log").start()
    yield server
    server.kill()


def wait_until(condition: Callable[[], bool], *, timeout: float = 45.0, interval: float = 0.2,
               what: str = "condition", worker: WorkerProcess | None = None) -> None:
    """Poll ``condition``; fail at once if ``worker`` died, or after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and not worker.alive():
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker.log()}")
        time.sleep(interval)
    detail = f"\nworker log:\n{worker.log()}" if worker else ""
    raise AssertionError(f"timed out waiting for {what}{detail}")


# --- scripted SMTP servers ---------------------------------------------------------------

class ScriptedHandler:
    """An aiosmtpd handler that stores accepted mail like the sink but answers from a
    script: ``rcpt_replies`` maps an address to a RCPT reply; ``data_replies`` is a list
    of replies for the next DATA commands (None = accept); ``drop_data`` counts messages
    to answer by closing the connection once their body has arrived; ``drop_every``
    closes it instead of answering every Nth message; ``drop_rcpt`` counts RCPT
    commands to answer by closing it (before any body was sent)."""

    def __init__(self, directory: Path, *, rcpt_replies: dict[str, str] | None = None,
                 data_replies: list[str | None] | None = None, drop_data: int = 0,
                 drop_rcpt: int = 0, drop_every: int = 0):
        from mailer.sink.server import StoreHandler

        self.store = StoreHandler(directory)
        self.rcpt_replies = rcpt_replies or {}
        self.data_replies = list(data_replies or [])
        self.drop_data = drop_data
        self.drop_rcpt = drop_rcpt
        self.drop_every = drop_every
        self.data_commands = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.drop_rcpt > 0:
            self.drop_rcpt -= 1
            server.transport.close()
            return "250 never seen"
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        every = self.drop_every and self.data_commands % self.drop_every == 0
        if self.drop_data > 0 or every:
            self.drop_data -= 0 if every else 1
            server.transport.close()
            return "250 never seen"
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply:
                return reply
        return await self.store.handle_DATA(server, session, envelope)


@pytest.fixture
def scripted_sink(tmp_path: Path, settings: Any) -> Iterator[Callable[..., SinkServer]]:
    servers: list[SinkServer] = []

    def start(**script: Any) -> SinkServer:
        port = free_port()
        directory = tmp_path / f"sink{len(servers)}"
        server = SinkServer(directory, port=port,
                            handler=ScriptedHandler(directory, **script)).start()
        servers.append(server)
        settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
        return server

    yield start
    for s in servers:
        s.stop()
