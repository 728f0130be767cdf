"""The production shape, run for real without Docker.

gunicorn serves the app with ``DEBUG=0`` and the production settings (a fresh
database, Redis as the broker, static files collected, an SMTP relay — here the test
sink); a real Celery worker sends an issue whose photo was uploaded through the staff
app. Then every image and link of a received message is fetched through gunicorn the
way the TLS proxy in docker-compose.yml would forward it (``Host`` = the public host,
``X-Forwarded-Proto: https``, the client in ``X-Forwarded-For``).

Mail is DKIM-signed for the mail domain as deploy/env.example sets it up; the public
archive and the double opt-in of a public list are used the way a reader and an Admin
would use them, through the same proxy shape.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import dkim
import pytest

from mailer.sink.server import SinkServer, free_port
from tests.html_forms import Forms

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PUBLIC_HOST = "news.example.test"
SITE_URL = f"https://{PUBLIC_HOST}"
SEED = ROOT / "examples" / "issues" / "iom-central-asia-03.md"
PHOTO = ROOT / "mailer" / "issues" / "demo_media" / "returning-home.png"
PEOPLE = ["aigerim@example.org", "bakyt@example.net", "dilnoza@example.com"]
# The right side of Message-IDs and List-Id, and the DKIM signing domain (d=).
MAIL_DOMAIN = PUBLIC_HOST
DKIM_SELECTOR = "news"
DKIM_PRIVATE_KEY = ROOT / "tests" / "signing" / "test-dkim-private.pem"
DKIM_PUBLIC_KEY = ROOT / "tests" / "signing" / "test-dkim-public.b64"
ATOM = "{http://www.w3.org/2005/Atom}"
DEFAULT_QUEUE = "celery"  # where tasks queued without a queue go (subscribers.tasks)

pytestmark = [pytest.mark.worker, pytest.mark.slow]


# --- the stack ------------------------------------------------------------------------------

def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    parts = urlsplit(url)
    import socket

    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1).close()
    except OSError:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable at {url} and REQUIRE_SERVICES=1")
        pytest.skip(f"Redis is not reachable at {url}")
    return url


@dataclass
class Database:
    """A database of its own: PostgreSQL when the suite runs on it, else a SQLite file."""

    url: str
    drop: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, tmp: Path) -> Database:
        suite_url = os.environ.get("DATABASE_URL", "")
        if not suite_url.startswith("postgres"):
            return cls(f"sqlite:///{tmp / 'production.sqlite3'}")
        import psycopg

        name = f"smoke_{uuid.uuid4().hex[:12]}"
        server = suite_url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return cls(f"{server}/{name}", drop=[server, name])

    def destroy(self) -> None:
        if not self.drop:
            return
        import psycopg

        server, name = self.drop
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    sink: SinkServer
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, stdin: str | None = None, extra: dict[str, str] | None = None) -> str:
        result = subprocess.run([str(BIN / "newsletter"), *args], cwd=ROOT, input=stdin,
                                env={**self.env, **(extra or {})}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, f"newsletter {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, *argv: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.tmp / log).open("wb")
        process = subprocess.Popen(list(argv), cwd=ROOT, env=self.env, stdout=out,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def request(self, method: str, path: str, *, proto: str | None = "https",
                host: str = PUBLIC_HOST, body: bytes | None = None, client: str | None = None,
                headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """One request to gunicorn as the proxy would forward it (no redirect followed);
        ``client`` is the address the proxy names in X-Forwarded-For."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": host, **({"X-Forwarded-Proto": proto} if proto else {}),
                **({"X-Forwarded-For": client} if client else {}), **(headers or {})}
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        conn.close()
        return response


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _healthz(stack: Stack) -> dict[str, object] | None:
    try:
        response = stack.request("GET", "/healthz", proto=None, host="127.0.0.1")
    except OSError:
        return None
    return json.loads(response.body) if response.status in (200, 503) else None  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which("gunicorn", path=str(BIN)) is None:
        pytest.fail("gunicorn is not installed in this environment (it is in the test extra)")
    tmp = tmp_path_factory.mktemp("production")
    database = Database.create(tmp)
    redis = _redis_url()
    smtp_port = free_port()
    sink = SinkServer(tmp / "relay", port=smtp_port).start()
    (tmp / "relay").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SITE_URL": SITE_URL,
        "TRUSTED_PROXY_COUNT": "1",  # as docker-compose.yml: the TLS proxy names the client
        "DEFAULT_FROM_EMAIL": f"IOM Central Asia <newsletter@{MAIL_DOMAIN}>",
        "MAIL_DOMAIN": MAIL_DOMAIN,
        "DKIM_PRIVATE_KEY_PATH": str(DKIM_PRIVATE_KEY),
        "DKIM_SELECTOR": DKIM_SELECTOR,
        "DKIM_DOMAIN": MAIL_DOMAIN,
        "DATABASE_URL": database.url,
        "CELERY_BROKER_URL": redis,
        "REDIS_URL": redis,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "VAR_DIR": str(tmp / "var"),
        "MEDIA_ROOT": str(tmp / "media"),
        "STATIC_ROOT": str(tmp / "static"),
        "SEND_TASK_QUEUE": f"smoke-{uuid.uuid4().hex[:8]}",
        "STAFF_PASSWORD": "Tr1cky-but-long-passphrase",
        "PYTHONUNBUFFERED": "1",
    })
    stack = Stack(env=env, port=free_port(), sink=sink, tmp=tmp)
    try:
        stack.run("migrate", "--noinput")
        stack.run("collectstatic", "--noinput")
        stack.run("staff_user", "editor", "--role", "admin", "--email", "editor@example.org")
        stack.start(str(BIN / "gunicorn"), "--preload", "--workers", "2", "--bind",
                    f"127.0.0.1:{stack.port}", "mailer.wsgi:application", log="gunicorn.log")
        # Sends go to SEND_TASK_QUEUE (fresh for this run); the audience app's own mails
        # (confirmation, welcome) to Celery's default queue, whose key in this test Redis
        # database may hold tasks of an earlier run, for mails of a database now dropped.
        import redis as redis_client

        redis_client.Redis.from_url(redis).delete(DEFAULT_QUEUE)
        stack.start(str(BIN / "celery"), "-A", "mailer", "worker", "--concurrency", "2",
                    "--queues", f"{env['SEND_TASK_QUEUE']},{DEFAULT_QUEUE}", "--without-gossip",
                    "--without-mingle", "--loglevel", "INFO", log="worker.log")
        _wait_for(lambda: (_healthz(stack) or {}).get("status") == "ok", "gunicorn to answer /healthz")
        yield stack
    finally:
        for process in stack.processes:
            process.terminate()
        for process in stack.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.stop()
        database.destroy()


# --- a browser: forms, cookies, CSRF ---------------------------------------------------------

def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> dict[str, str]:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, value = header.split(";", 1)[0].split("=", 1)
        jar[name.strip()] = value.strip()
    return jar


def _cookie_headers(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}


def _body(response: http.client.HTTPResponse) -> str:
    return response.body.decode(errors="replace")  # type: ignore[attr-defined,no-any-return]


def _form_submit(stack: Stack, path: str, jar: dict[str, str], having: str,
                 values: dict[str, str], *, client: str | None = None) -> http.client.HTTPResponse:
    """Open ``path`` and submit its form that has a ``having`` control, with ``values``
    typed in, as a browser does: the page's cookies and CSRF token, Origin and Referer.
    ``jar`` keeps the cookies of both answers."""
    page = stack.request("GET", path, client=client, headers=_cookie_headers(jar))
    assert page.status == 200, (path, page.status)
    _cookies(page, jar)
    fields = {**Forms(_body(page)).having(having), **values}
    done = stack.request("POST", path, client=client, body=urlencode(fields).encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", **_cookie_headers(jar),
        "Origin": SITE_URL, "Referer": f"{SITE_URL}{path}"})
    _cookies(done, jar)
    return done


# --- staff: log in, upload a photo, change things in the admin site --------------------------

def _staff_session(stack: Stack) -> dict[str, str]:
    jar: dict[str, str] = {}
    done = _form_submit(stack, "/login/", jar, "username",
                        {"username": "editor", "password": stack.env["STAFF_PASSWORD"]})
    assert done.status == 302, (done.status, _body(done)[:500])
    return jar


def _admin_save(stack: Stack, jar: dict[str, str], path: str, having: str,
                values: dict[str, str]) -> None:
    """Save an admin form as an Admin would: the page's form with ``values`` changed."""
    done = _form_submit(stack, path, jar, having, values)
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>.*?</ul>', _body(done), re.S)
    assert done.status == 302, (path, done.status, errors)


def _upload_photo(stack: Stack, jar: dict[str, str]) -> str:
    page = stack.request("GET", "/library/", headers=_cookie_headers(jar))
    assert page.status == 200, page.status
    token = Forms(_body(page)).having("csrfmiddlewaretoken")["csrfmiddlewaretoken"]
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{token}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="alt_text"\r\n\r\n'
        "Migrants waiting at the border\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="border.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode() + PHOTO.read_bytes() + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    done = stack.request("POST", "/library/", body=b"".join(parts), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json",
        **_cookie_headers(jar), "Origin": SITE_URL, "Referer": f"{SITE_URL}/library/"})
    assert done.status == 201, (done.status, done.body[:500])  # type: ignore[attr-defined]
    return str(json.loads(done.body)["url"])  # type: ignore[attr-defined]


# --- send, then read what the relay received --------------------------------------------------

class Links(HTMLParser):
    def __init__(self, html: str = "") -> None:
        super().__init__()
        self.images: set[str] = set()
        self.links: set[str] = set()
        self.atom_feeds: set[str] = set()  # <link rel="alternate" type="application/atom+xml">
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.add(str(a["src"]))
        if tag == "a" and a.get("href"):
            self.links.add(str(a["href"]))
        if (tag == "link" and a.get("href") and "alternate" in (a.get("rel") or "").split()
                and a.get("type") == "application/atom+xml"):
            self.atom_feeds.add(str(a["href"]))


def _parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _mail_to(stack: Stack, addresses: list[str]) -> list[bytes]:
    """The messages the relay received for ``addresses``, as they came (oldest first)."""
    raws = [path.read_bytes() for path in stack.sink.messages()]
    return [raw for raw in raws if str(_parsed(raw)["X-Envelope-To"]) in addresses]


def _dkim_txt(name: bytes, timeout: int = 5) -> bytes:
    """The DNS answer of the mail domain: the test public key, under our selector only."""
    if name != f"{DKIM_SELECTOR}._domainkey.{MAIL_DOMAIN}.".encode():
        return b""
    return b"v=DKIM1; k=rsa; p=" + DKIM_PUBLIC_KEY.read_bytes().strip()


@pytest.fixture(scope="module")
def received_raw(stack: Stack) -> list[bytes]:
    """The campaign messages of one send of an issue to a private partner list."""
    photo_url = _upload_photo(stack, _staff_session(stack))
    issue = stack.tmp / "issue.md"
    issue.write_text(re.sub(r"/media/newsletter/[\w.-]+\.png", photo_url, SEED.read_text()))
    stack.run("import_issue", str(issue), "--slug", "smoke-issue")
    audience = stack.tmp / "partners.csv"
    audience.write_text("email,name,language\n" + "".join(f"{a},Partner {i},en\n"
                                                            for i, a in enumerate(PEOPLE)))
    stack.run("import_subscribers", str(audience), "--list", "partners", "--list-name", "Partners",
              "--kind", "partner")
    stack.run("send_issue", "smoke-issue", "--list", "partners", "--wait", "--timeout", "180")
    _wait_for(lambda: len(_mail_to(stack, PEOPLE)) >= len(PEOPLE), "the relay to receive every message")
    return _mail_to(stack, PEOPLE)


@pytest.fixture(scope="module")
def received(received_raw: list[bytes]) -> list[EmailMessage]:
    return [_parsed(raw) for raw in received_raw]


def _html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _site_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_it_delivers_one_message_per_person(received: list[EmailMessage]) -> None:
    assert len(received) == len(PEOPLE)
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in received) == sorted(PEOPLE)


def test_every_image_of_a_sent_message_is_served_as_an_image(stack: Stack,
                                                                 received: list[EmailMessage]) -> None:
    parser = Links()
    parser.feed(_html_of(received[0]))
    ours = sorted(src for src in parser.images if src.startswith(SITE_URL))
    assert any("/media/" in src for src in ours), ours  # the uploaded photo
    assert any("/static/" in src for src in ours), ours  # the social icons
    for src in ours:
        response = stack.request("GET", _site_path(src))
        assert response.status == 200, (src, response.status)
        assert response.headers["Content-Type"].startswith("image/"), (src, response.headers["Content-Type"])


def test_every_link_of_a_sent_message_answers_below_400(stack: Stack,
                                                        received: list[EmailMessage]) -> None:
    parser = Links()
    parser.feed(_html_of(received[0]))
    ours = sorted(href for href in parser.links if href.startswith(SITE_URL))
    assert len(ours) >= 2, ours  # at least the web version and the unsubscribe/preferences links
    for href in ours:
        response = stack.request("GET", _site_path(href))
        assert response.status < 400, (href, response.status)


def test_one_click_unsubscribe_works_behind_the_proxy(stack: Stack,
                                                      received: list[EmailMessage]) -> None:
    message = received[-1]
    https = [u.strip("<> ") for u in str(message["List-Unsubscribe"]).split(",")
             if u.strip().startswith(f"<{SITE_URL}")]
    assert len(https) == 1
    response = stack.request("POST", _site_path(https[0]), body=b"List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200, (response.status, response.body[:300])  # type: ignore[attr-defined]
    address = str(message["To"]).split("<")[-1].rstrip(">")
    status = stack.run("shell", "--no-imports", "-c", (
        "from subscribers.models import Subscription; "
        f"print(sorted(set(Subscription.objects.filter(subscriber__email={address!r})"
        ".values_list('status', flat=True))))"))
    assert "confirmed" not in status and "unsubscribed" in status, status


def test_the_staff_app_static_files_are_hashed_and_cached_long(stack: Stack) -> None:
    manifest = json.loads((Path(stack.env["STATIC_ROOT"]) / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    response = stack.request("GET", f"/static/{hashed}")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert stack.request("GET", "/api/docs").status == 200


def test_uploaded_media_is_served_with_type_and_cache_headers(stack: Stack,
                                                              received: list[EmailMessage]) -> None:
    parser = Links()
    parser.feed(_html_of(received[0]))
    photo = next(src for src in parser.images if "/media/" in src)
    response = stack.request("GET", _site_path(photo))
    assert response.headers["Content-Type"] == "image/png"
    assert "max-age=" in response.headers["Cache-Control"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.body == PHOTO.read_bytes()  # type: ignore[attr-defined]


def test_https_requests_carry_hsts_and_http_is_redirected(stack: Stack) -> None:
    secure = stack.request("GET", "/archive/")
    assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
    plain = stack.request("GET", "/archive/", proto="http")
    assert plain.status == 301
    assert plain.headers["Location"] == f"{SITE_URL}/archive/"


def test_requests_for_another_host_are_refused(stack: Stack) -> None:
    assert stack.request("GET", "/archive/", host="evil.example.com").status == 400


def test_healthz_reports_database_broker_and_a_live_worker(stack: Stack) -> None:
    def worker_alive() -> bool:
        workers = (_healthz(stack) or {}).get("workers")
        return isinstance(workers, dict) and workers.get("ok") is True

    _wait_for(worker_alive, "a worker heartbeat")
    response = stack.request("GET", "/healthz?require=worker", proto=None, host="127.0.0.1")
    report = json.loads(response.body)  # type: ignore[attr-defined]
    assert response.status == 200, report
    assert report["database"]["ok"] and report["broker"]["ok"] and report["workers"]["alive"] >= 1


# --- DKIM ---------------------------------------------------------------------------------------

def test_every_campaign_message_verifies_with_the_published_dkim_key(received_raw: list[bytes]) -> None:
    assert len(received_raw) == len(PEOPLE)
    for raw in received_raw:
        assert dkim.verify(raw, dnsfunc=_dkim_txt), raw.split(b"\r\n\r\n", 1)[0].decode()


def test_campaign_message_ids_are_of_the_mail_domain(received: list[EmailMessage]) -> None:
    assert len(received) == len(PEOPLE)
    for message in received:
        assert str(message["Message-ID"]).endswith(f"@{MAIL_DOMAIN}>"), message["Message-ID"]


# --- the public archive -------------------------------------------------------------------------

ARCHIVED = "/archive/smoke-issue/en/"


@pytest.fixture(scope="module")
def archived(stack: Stack, received: list[EmailMessage]) -> str:
    """The path of the sent issue in the archive, after an Admin ticked *public in the
    archive* in the admin site: it went only to a private list, so it was not public."""
    assert ARCHIVED not in Links(_body(stack.request("GET", "/archive/"))).links
    issue_id = stack.run("shell", "--no-imports", "-c", (
        "from mailer.issues.models import Issue; print(Issue.objects.get(slug='smoke-issue').pk)"))
    _admin_save(stack, _staff_session(stack), f"/admin/issues/issue/{issue_id.strip()}/change/",
                "archive_public", {"archive_public": "on"})
    return ARCHIVED


def test_the_archive_lists_a_sent_issue_an_admin_made_public(stack: Stack, archived: str) -> None:
    page = stack.request("GET", "/archive/")
    assert page.status == 200
    assert archived in Links(_body(page)).links


def test_the_archive_advertises_its_atom_feed(stack: Stack, archived: str) -> None:
    feeds = Links(_body(stack.request("GET", "/archive/"))).atom_feeds
    assert feeds == {"/archive/feed/"}
    response = stack.request("GET", "/archive/feed/")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")


def test_every_entry_of_the_atom_feed_links_to_a_page_that_answers(stack: Stack, archived: str) -> None:
    response = stack.request("GET", "/archive/feed/")
    feed = ET.fromstring(response.body)  # type: ignore[attr-defined]  # noqa: S314 - our own app's feed
    assert feed.tag == f"{ATOM}feed"
    links = [link.get("href", "") for entry in feed.iter(f"{ATOM}entry")
             for link in entry.iter(f"{ATOM}link")]
    assert f"{SITE_URL}{archived}" in links, links
    for href in links:
        assert href.startswith(f"{SITE_URL}/"), href
        assert stack.request("GET", _site_path(href)).status == 200, href


def test_the_archived_email_document_is_served_in_a_sandbox(stack: Stack, archived: str) -> None:
    response = stack.request("GET", f"{archived}email/")
    assert response.status == 200
    policy = {d.strip().split(" ", 1)[0]: d.strip()
              for d in response.headers["Content-Security-Policy"].split(";")}
    assert "sandbox" in policy, policy
    assert "allow-scripts" not in policy["sandbox"] and "allow-same-origin" not in policy["sandbox"]


# --- double opt-in on a public list ---------------------------------------------------------------

READERS = "readers"


@dataclass
class Confirmation:
    address: str
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return _parsed(self.raw)


@pytest.fixture(scope="module")
def confirmation(stack: Stack) -> Confirmation:
    """An Admin opened a public double opt-in list in the admin site; a person asked for it
    on its subscribe page. The mail the relay received for them."""
    _admin_save(stack, _staff_session(stack), "/admin/subscribers/mailinglist/add/", "visibility", {
        "name": "Readers", "slug": READERS, "kind": "public", "opt_in": "double",
        "visibility": "public"})
    # Fresh for each run: an address gets at most 3 confirmation mails a day, and one client
    # may post the form 10 times an hour; the counts outlive this stack in Redis.
    address = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    client = f"198.51.100.{secrets.randbelow(254) + 1}"
    done = _form_submit(stack, f"/subscribe/{READERS}/", {}, "email",
                        {"email": address, "name": "Reader", "consent": "on"}, client=client)
    assert done.status == 200, (done.status, _body(done)[:500])
    _wait_for(lambda: _mail_to(stack, [address]), f"the confirmation mail to {address}")
    [raw] = _mail_to(stack, [address])
    return Confirmation(address, raw)


def _statuses(stack: Stack, address: str, list_slug: str) -> str:
    return stack.run("shell", "--no-imports", "-c", (
        "from subscribers.models import Subscription; "
        f"print(list(Subscription.objects.filter(subscriber__email={address!r}, "
        f"mailing_list__slug={list_slug!r}).values_list('status', flat=True)))")).strip()


def test_the_confirmation_mail_is_multipart_alternative(confirmation: Confirmation) -> None:
    message = confirmation.message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_the_confirmation_mail_verifies_with_the_published_dkim_key(confirmation: Confirmation) -> None:
    assert dkim.verify(confirmation.raw, dnsfunc=_dkim_txt)


def test_the_confirmation_mail_id_is_of_the_mail_domain(confirmation: Confirmation) -> None:
    assert str(confirmation.message["Message-ID"]).endswith(f"@{MAIL_DOMAIN}>")


def test_the_confirm_link_confirms_the_subscription_behind_the_proxy(
        stack: Stack, confirmation: Confirmation) -> None:
    links = [href for href in Links(_html_of(confirmation.message)).links
             if href.startswith(f"{SITE_URL}/confirm/")]
    assert len(links) == 1, links
    assert _statuses(stack, confirmation.address, READERS) == "['unconfirmed']"
    # A GET only shows the button (link scanners open every URL); the person presses it.
    done = _form_submit(stack, _site_path(links[0]), {}, "csrfmiddlewaretoken", {})
    assert done.status == 200, (done.status, _body(done)[:500])
    assert _statuses(stack, confirmation.address, READERS) == "['confirmed']"
