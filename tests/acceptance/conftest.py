"""Acceptance fixtures: the seed issue sent through the real pipeline into a real SMTP sink.

Every test in this folder checks STANDARDS.md on messages that the product itself
produced: the structured seed (en + ru) is imported with ``issue_import``, an audience
of English and Russian speakers is created (Cyrillic display names, an IDN domain, one
person on two lists), a send is created and started with ``send_create`` /
``send_start``, and its batches run through the ``send_batch`` task in this process
(Celery in eager mode: the broker is the only part left out) over real SMTP into
``SinkServer`` on a free port. The stored ``.eml`` files are what the tests read.

Nothing here is mocked: planning, claiming, merging, MIME building, SMTP, the
one-click endpoint and bounce processing are all the product's code.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mailer.env import smtp_from_url
from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import send_create, send_start
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer, free_port
from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.services import email_normalise

ROOT = Path(__file__).resolve().parents[2]
SEED_EN = ROOT / "examples" / "issues" / "iom-central-asia-03.md"
SEED_RU = ROOT / "examples" / "issues" / "iom-central-asia-03.ru.md"
ISSUE_SLUG = "iom-central-asia-03"
SITE = "https://news.example.org"
MAIL_DOMAIN = "news.example.org"
BOUNCE_DOMAIN = "bounce.example.org"
FROM_ADDRESS = "newsletter@news.example.org"
SENDER_ID = "iomcanews"
DKIM_DIR = ROOT / "tests" / "signing"


# --- the audience ------------------------------------------------------------------------

@dataclass(frozen=True)
class Persona:
    key: str
    raw_email: str
    name: str
    language: str
    lists: tuple[str, ...]


PERSONAS = (
    # An English-speaking partner with an ASCII name.
    Persona("aigerim", "aigerim.bekova@partner-ngo.example.org", "Aigerim Bekova", "en",
            ("partners",)),
    # A Russian speaker with a Cyrillic name long enough to need folded encoded words,
    # on both lists: she must get one copy.
    Persona("bakhyt", "bakhyt@ministry.example.kz",
            "Бахытжан Абдыкадырова-Жээнбекова (Министерство труда)", "ru",
            ("partners", "public")),
    # A Russian speaker at an IDN domain (stored IDNA-encoded, RFC 5890).
    Persona("zhanna", "zhanna@пример.испытание", "Жанна Сейткали", "ru", ("public",)),
    # An English speaker whose name needs quoting in a header (comma, apostrophe).
    Persona("oneil", "chris.oneil@un.example.org", "O'Neil, Chris", "en", ("public",)),
    # No name at all: the greeting falls back to the default.
    Persona("noname", "reader@example.net", "", "en", ("public",)),
)


@pytest.fixture
def lists(db: None) -> dict[str, MailingList]:
    return {
        "partners": MailingList.objects.create(slug="partners", name="Partners",
                                               kind=MailingList.Kind.PARTNER),
        "public": MailingList.objects.create(slug="public", name="Subscribers",
                                             kind=MailingList.Kind.PUBLIC),
    }


@pytest.fixture
def people(lists: dict[str, MailingList]) -> dict[str, Subscriber]:
    out: dict[str, Subscriber] = {}
    for p in PERSONAS:
        address = email_normalise(p.raw_email)
        sub = Subscriber.objects.create(email=address, email_hash=email_hash(address),
                                        name=p.name, language=p.language)
        for slug in p.lists:
            Subscription.objects.create(subscriber=sub, mailing_list=lists[slug],
                                        status=Subscription.Status.CONFIRMED)
        out[p.key] = sub
    return out


def seed_issue(slug: str) -> Issue:
    """The structured seed imported as the issue ``slug``, English and Russian variants."""
    first = issue_import(SEED_EN.read_text(encoding="utf-8"), slug=slug, filename=SEED_EN.name)
    second = issue_import(SEED_RU.read_text(encoding="utf-8"), slug=slug, filename=SEED_RU.name)
    assert first.issue.pk == second.issue.pk
    assert {v.language for v in first.issue.variants.all()} == {"en", "ru"}
    return first.issue


@pytest.fixture
def issue(db: None) -> Issue:
    """The structured seed, English and Russian variants of one issue."""
    return seed_issue(ISSUE_SLUG)


@pytest.fixture
def next_issue(db: None) -> Callable[[], Issue]:
    """The following issues of the bulletin (the seed again under new slugs): an issue
    reaches a person once, so "the next send" to the same people is of another issue."""
    made = itertools.count(4)
    return lambda: seed_issue(f"iom-central-asia-{next(made):02d}")


# --- settings, Celery, the sink -----------------------------------------------------------

@pytest.fixture(autouse=True)
def acceptance_settings(settings: Any) -> Iterator[Any]:
    """https links (STANDARDS row 1), our domains, no rate limit, DKIM off unless a test
    turns it on (the key is cached, so the cache is cleared on the way in and out)."""
    settings.SITE_URL = SITE
    settings.MAIL_DOMAIN = MAIL_DOMAIN
    settings.BOUNCE_DOMAIN = BOUNCE_DOMAIN
    settings.DEFAULT_FROM_EMAIL = f"IOM Central Asia <{FROM_ADDRESS}>"
    settings.FEEDBACK_SENDER_ID = SENDER_ID
    settings.SEND_RATE_PER_SECOND = 0.0
    settings.SEND_DOMAIN_RATES = {}
    settings.DKIM_PRIVATE_KEY_PATH = ""
    dkim_key.cache_clear()
    yield settings
    dkim_key.cache_clear()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run ``send_batch.delay`` in this process. Only the broker hop is skipped; the task
    body is the product's. Nothing can reach a shared queue while this is on."""
    from mailer.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def sink(tmp_path: Path, settings: Any) -> Iterator[SinkServer]:
    port = free_port()
    server = SinkServer(tmp_path / "sink", port=port).start()
    settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=10")
    try:
        yield server
    finally:
        server.stop()


class FlakyStoreHandler:
    """Stores every message it is given, but answers the first DATA for each address in
    ``refuse_once`` with a temporary failure: the sender must try again later."""

    def __init__(self, directory: Path, refuse_once: set[str]):
        from mailer.sink.server import StoreHandler

        self.store = StoreHandler(directory)
        self.refuse_once = set(refuse_once)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await self.store.handle_DATA(server, session, envelope)
        refused = [r for r in envelope.rcpt_tos if r in self.refuse_once]
        if refused:
            self.refuse_once.difference_update(refused)
            return "451 4.3.0 Temporary failure, try again later"
        return reply


@pytest.fixture
def flaky_sink(tmp_path: Path, settings: Any) -> Iterator[Callable[[set[str]], SinkServer]]:
    """A sink that refuses the first attempt for some addresses (and keeps a copy of it)."""
    servers: list[SinkServer] = []

    def start(refuse_once: set[str]) -> SinkServer:
        port = free_port()
        directory = tmp_path / "flaky-sink"
        server = SinkServer(directory, port=port,
                            handler=FlakyStoreHandler(directory, refuse_once)).start()
        servers.append(server)
        settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=10")
        return server

    yield start
    for server in servers:
        server.stop()


# --- stored messages ------------------------------------------------------------------------

@dataclass
class Received:
    """One message as the sink stored it: the SMTP envelope and the bytes of the message."""

    path: Path
    envelope_from: str
    envelope_to: str
    raw: bytes
    message: EmailMessage

    @property
    def head(self) -> bytes:
        return self.raw.split(b"\r\n\r\n", 1)[0]

    def part(self, subtype: str) -> EmailMessage:
        body = self.message.get_body(preferencelist=(subtype,))
        assert isinstance(body, EmailMessage), f"no text/{subtype} part"
        return body

    @property
    def html(self) -> str:
        return str(self.part("html").get_content())

    @property
    def text(self) -> str:
        return str(self.part("plain").get_content())


def received_load(path: Path) -> Received:
    """The sink writes ``X-Envelope-From`` and ``X-Envelope-To`` lines before the message."""
    stored = path.read_bytes()
    first, second, raw = stored.split(b"\r\n", 2)
    assert first.startswith(b"X-Envelope-From: ") and second.startswith(b"X-Envelope-To: ")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return Received(path, first.split(b": ", 1)[1].decode(), second.split(b": ", 1)[1].decode(),
                    raw, message)


@dataclass
class SendOutcome:
    send: Send
    messages: list[Received]
    by_email: dict[str, Received] = field(default_factory=dict)

    def delivery(self, subscriber: Subscriber) -> Delivery:
        return Delivery.objects.get(send=self.send, subscriber=subscriber)

    def to(self, subscriber: Subscriber) -> Received:
        return self.by_email[subscriber.email]


class Sender:
    """Creates, plans and runs sends through the real code; collects what the sink got."""

    def __init__(self, sink: SinkServer, capture: Any):
        self.sink = sink
        self.capture = capture
        self.seen: set[Path] = set()

    def plan(self, issue: Issue, lists: list[MailingList]) -> tuple[Send, list[Callable[[], Any]]]:
        """Create and start a send; return it with the queued (not yet run) batch tasks."""
        send = send_create(issue, lists)
        with self.capture(execute=False) as callbacks:
            send_start(send.pk)
        send.refresh_from_db()
        return send, list(callbacks)

    def run(self, send: Send, callbacks: list[Callable[[], Any]]) -> SendOutcome:
        """Publish the send's batches (eager Celery runs each ``send_batch`` here)."""
        for publish in callbacks:
            publish()
        send.refresh_from_db()
        new = [p for p in self.sink.messages() if p not in self.seen]
        self.seen.update(new)
        messages = [received_load(p) for p in new]
        by_email: dict[str, Received] = {}
        for m in messages:
            assert m.envelope_to not in by_email, f"{m.envelope_to} got two copies"
            by_email[m.envelope_to] = m
        return SendOutcome(send, messages, by_email)

    def send(self, issue: Issue, lists: list[MailingList]) -> SendOutcome:
        send, callbacks = self.plan(issue, lists)
        return self.run(send, callbacks)


@pytest.fixture
def sender(sink: SinkServer, eager_celery: None,
           django_capture_on_commit_callbacks: Any) -> Sender:
    return Sender(sink, django_capture_on_commit_callbacks)


@pytest.fixture
def sent(sender: Sender, issue: Issue, lists: dict[str, MailingList],
         people: dict[str, Subscriber]) -> SendOutcome:
    """The seed issue sent to both lists; every person got their one message."""
    outcome = sender.send(issue, [lists["partners"], lists["public"]])
    assert outcome.send.status == Send.Status.DONE, outcome.send.status_reason
    # Tests loop over outcome.messages: exactly one message per person, counted first.
    assert len(outcome.messages) == len(people)
    assert set(outcome.by_email) == {p.email for p in people.values()}
    return outcome


# --- reading HTML ---------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    hidden: bool = False  # inside an element styled display:none
    ancestors: tuple[str, ...] = ()

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


def _hides(attrs: dict[str, str | None]) -> bool:
    style = re.sub(r"\s+", "", (attrs.get("style") or "").lower())
    return "display:none" in style


class HtmlDocument(HTMLParser):
    """Every element (start tags, attributes, its own text), in document order."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.texts: list[Element] = []  # text nodes, as pseudo-elements "#text"
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = self._element(tag, attrs)
        if tag not in VOID:
            self._open.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> Element:
        a = dict(attrs)
        el = Element(tag, a, hidden=_hides(a) or any(o.hidden for o in self._open),
                     ancestors=tuple(o.tag for o in self._open))
        self.elements.append(el)
        return el

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for el in self._open:
            el.text += data
        self.texts.append(Element("#text", {}, data, any(o.hidden for o in self._open),
                                  tuple(o.tag for o in self._open)))

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


def url_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- audience state, for "nothing changed" checks -------------------------------------------

def audience_state() -> dict[str, object]:
    """Everything an unsubscribe or a bounce could change, in a comparable form."""
    from mailer.bounces.models import BounceEvent
    from subscribers.models import SubscriptionEvent, Suppression

    return {
        "subscriptions": sorted(Subscription.objects.values_list("subscriber_id", "mailing_list_id",
                                                                 "status")),
        "suppressions": sorted(Suppression.objects.values_list("email_hash", "reason")),
        "subscribers": sorted(Subscriber.objects.values_list("pk", "status")),
        "events": SubscriptionEvent.objects.count(),
        "bounces": BounceEvent.objects.count(),
    }


def subscription_status(subscriber: Subscriber, mlist: MailingList) -> str:
    return Subscription.objects.get(subscriber=subscriber, mailing_list=mlist).status


# --- bounce and complaint reports -----------------------------------------------------------

REPORTS = ROOT / "tests" / "bounces" / "fixtures"


def report_for(name: str, received: Received, *, verp: str | None = None,
               message_id: str | None = None) -> bytes:
    """A real-world report (tests/bounces/fixtures) about a message the sink received:
    its VERP envelope sender, its recipient and its Message-ID fill the placeholders."""
    text = (REPORTS / name).read_text(encoding="utf-8")
    assert "{RCPT}" in text and "{VERP}" in text, f"{name} no longer has its placeholders"
    filled = (text.replace("{VERP}", verp or received.envelope_from)
              .replace("{RCPT}", received.envelope_to)
              .replace("{MSGID}", message_id or str(received.message["Message-ID"])))
    return filled.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
