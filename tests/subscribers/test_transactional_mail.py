"""The audience app's own mails (issue 12): confirmation, welcome and preferences-changed
mails in the issues' layout, HTML + text, through the one outbound path (DKIM, Message-ID
of the mail domain) into a real SMTP sink, each with a recorded outcome."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest
from django.core.cache import cache
from django.test import Client

from mailer.env import smtp_from_url
from mailer.signing.dkim_sign import dkim_key
from mailer.sink.server import SinkServer, free_port
from subscribers import mail_content
from subscribers.models import MailingList, Subscriber, Subscription, TransactionalMail
from subscribers.tokens import preferences_token, preferences_token_read
from tests.sending.conftest import ScriptedHandler, sink_read

pytestmark = pytest.mark.django_db
SIGNING = Path(__file__).resolve().parents[1] / "signing"
SITE = "https://news.example.org"
WELCOME_EN = """---
subject: Welcome to the Digest
preheader: "What you will receive from us, and how often: one issue a month."
---
# Welcome

Hello {{ first_name|default("friend") }}, one issue a month, about migration in Central Asia.
"""
WELCOME_RU = WELCOME_EN.replace("Welcome to the Digest", "Добро пожаловать в Дайджест")


@pytest.fixture(autouse=True)
def mail_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SITE_URL = SITE
    settings.MAIL_DOMAIN = "news.example.org"
    cache.clear()  # the subscribe pages' rate limits


@pytest.fixture
def signing(settings: Any) -> Iterator[None]:
    settings.DKIM_PRIVATE_KEY_PATH = str(SIGNING / "test-dkim-private.pem")
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_DOMAIN = "news.example.org"
    dkim_key.cache_clear()
    yield
    dkim_key.cache_clear()


@pytest.fixture
def relay(tmp_path: Path, settings: Any) -> Callable[..., SinkServer]:
    """relay(**script) -> a real SMTP server (aiosmtpd) that stores what it accepts and
    answers as ``ScriptedHandler`` is told; the app's SMTP route points at it."""
    servers: list[SinkServer] = []

    def start(**script: Any) -> SinkServer:
        port, directory = free_port(), tmp_path / f"relay{len(servers)}"
        server = SinkServer(directory, port=port,
                            handler=ScriptedHandler(directory, **script)).start()
        servers.append(server)
        settings.SMTP_ROUTE = smtp_from_url("SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.stop()


@pytest.fixture
def sink(relay: Callable[..., SinkServer]) -> SinkServer:
    return relay()


@pytest.fixture
def digest(db: None) -> MailingList:
    return MailingList.objects.create(slug="digest", name="Digest", visibility="public",
                                      opt_in="double", welcome_en=WELCOME_EN, welcome_ru=WELCOME_RU)


@pytest.fixture
def news(db: None) -> MailingList:
    return MailingList.objects.create(slug="news", name="News", visibility="public",
                                      opt_in="single")


@pytest.fixture(autouse=True)
def tasks_run_at_once() -> Iterator[None]:
    """The queued mail tasks run when the request's transaction commits, as a worker
    would run them; the SMTP path below them is the real one."""
    from mailer.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def received(server: SinkServer) -> list[EmailMessage]:
    return [email.message_from_bytes(sink_read(p)[2], policy=email.policy.default)  # type: ignore[misc]
            for p in server.messages()]


def raw_messages(server: SinkServer) -> list[bytes]:
    return [sink_read(p)[2] for p in server.messages()]


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, HTML) of a multipart/alternative message, asserting their order (RFC 2046)."""
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return plain.get_content(), html.get_content()  # type: ignore[attr-defined]


def subscribe(client: Client, slug: str, address: str = "new@example.org", **fields: str) -> None:
    data = {"email": address, "name": "", "language": "en", "consent": "on", **fields}
    response = client.post(f"/subscribe/{slug}/", data)
    assert response.status_code == 200


def confirm_path(message: EmailMessage) -> str:
    text, _html = parts(message)
    found = re.search(rf"{re.escape(SITE)}(/confirm/[^/\s]+/)", text)
    assert found is not None, text
    return found.group(1)


def dkim_dns(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"news._domainkey.news.example.org."
    return b"v=DKIM1; k=rsa; p=" + (SIGNING / "test-dkim-public.b64").read_bytes().strip()


# --- confirmation -------------------------------------------------------------------------

def test_the_confirmation_from_the_public_form_has_html_and_text_parts_and_a_button(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    (message,) = received(sink)
    text, html = parts(message)
    path = confirm_path(message)
    assert f"{SITE}{path}" in text  # the bare URL in the text part
    assert re.search(rf'<a href="{re.escape(SITE + path)}"[^>]*>\s*Yes, subscribe me', html)
    assert str(message["Subject"]) == "Confirm your subscription to Digest"
    assert "new@example.org" in text and "Digest" in html
    assert "{{" not in text + html


def test_the_confirmation_is_dkim_signed_with_a_message_id_of_the_mail_domain(
        digest: MailingList, sink: SinkServer, signing: None,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    (raw,) = raw_messages(sink)
    assert dkim.verify(raw, dnsfunc=dkim_dns)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert re.fullmatch(r"<tm\.\d+\.[0-9a-f]+@news\.example\.org>", str(message["Message-ID"]))
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_confirmation_keeps_every_line_short_and_the_header_block_ascii(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest", language="ru")
    (raw,) = raw_messages(sink)
    head, body = raw.split(b"\r\n\r\n", 1)
    head.decode("ascii")
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # RFC 2045 §6.7
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]) == "Подтвердите подписку на «Digest»"
    assert all(part["Content-Transfer-Encoding"] == "quoted-printable"
               for part in message.iter_parts())


def test_a_confirmation_is_compiled_once_for_a_burst_of_subscriptions(
        digest: MailingList, sink: SinkServer, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    compiled: list[str] = []
    real = mail_content.compile_issue

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(kwargs["language"])
        return real(*args, **kwargs)

    monkeypatch.setattr(mail_content, "compile_issue", counting)
    mail_content._cache.clear()
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            subscribe(Client(), "digest", f"person{i}@example.org")
    messages = received(sink)
    assert len(messages) == 3
    assert compiled == ["en"]
    links = {confirm_path(m) for m in messages}
    assert len(links) == 3  # one compilation, three personal links


def test_a_used_confirm_link_says_already_confirmed(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    path = confirm_path(received(sink)[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(path).status_code == 200
    again = Client().get(path)
    assert again.status_code == 200
    assert "Already confirmed" in again.content.decode()
    assert "Confirm subscription" not in again.content.decode()


# --- welcome ------------------------------------------------------------------------------

def test_the_welcome_is_sent_once_on_confirm_and_not_on_a_repeated_confirm(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest", name="Aigerim Bekova")
    path = confirm_path(received(sink)[0])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            Client().post(path)
    messages = received(sink)
    assert [str(m["Subject"]) for m in messages] == [
        "Confirm your subscription to Digest", "Welcome to the Digest"]
    text, html = parts(messages[1])
    assert "Hello Aigerim, one issue" in text and "Hello Aigerim, one issue" in html


def test_the_welcome_carries_the_lists_one_click_unsubscribe_signed(
        news: MailingList, sink: SinkServer, signing: None,
        django_capture_on_commit_callbacks: Any) -> None:
    news.welcome_en = WELCOME_EN
    news.save()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "news")
    (raw,) = raw_messages(sink)
    assert dkim.verify(raw, dnsfunc=dkim_dns)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    url = re.fullmatch(r"<(https://news\.example\.org/u/[^/>]+/)>", str(message["List-Unsubscribe"]))
    assert url is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["List-Id"]) == "<news.news.example.org>"
    signed = re.search(r"\bh=([^;]+)", str(message["DKIM-Signature"]).replace(" ", ""))
    assert signed is not None and "list-unsubscribe-post" in signed.group(1).lower()
    response = Client().post(url.group(1).removeprefix(SITE), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscription.objects.get().status == "unsubscribed"


def test_the_welcome_is_not_sent_again_after_leaving_and_joining_the_list_again(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(confirm_path(received(sink)[0]))
    Subscription.objects.update(status="unsubscribed")
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(confirm_path(received(sink)[-1]))
    assert Subscription.objects.get().status == "confirmed"
    kinds = list(TransactionalMail.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["confirmation", "welcome", "confirmation"]


def test_a_single_opt_in_subscription_gets_the_welcome_in_the_persons_language(
        news: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    news.welcome_ru = WELCOME_RU
    news.save()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "news", language="ru")
    (message,) = received(sink)
    assert str(message["Subject"]) == "Добро пожаловать в Дайджест"
    assert '<html lang="ru"' in parts(message)[1]


def test_a_list_without_a_welcome_text_sends_no_welcome(
        news: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "news")
    assert Subscription.objects.get().status == "confirmed"
    assert received(sink) == []
    assert not TransactionalMail.objects.exists()


def test_people_imported_into_a_list_with_a_welcome_get_no_mail(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    from subscribers.importer import import_csv

    with django_capture_on_commit_callbacks(execute=True):
        report = import_csv(b"email,name\r\nimported@example.org,Imported\r\n", digest)
    assert report.created == 1
    assert Subscription.objects.get().status == "confirmed"
    assert received(sink) == [] and not TransactionalMail.objects.exists()


# --- preferences changed ------------------------------------------------------------------

@pytest.fixture
def reader(digest: MailingList, news: MailingList) -> Subscriber:
    person = Subscriber.objects.create(email="reader@example.org", email_hash="h-reader",
                                       name="Reader", language="en")
    Subscription.objects.create(subscriber=person, mailing_list=news, status="confirmed")
    return person


def preferences_post(person: Subscriber, *, lists: list[MailingList], **fields: str) -> int:
    data = {"name": person.name, "language": person.language,
            "lists": [str(m.pk) for m in lists], **fields}
    return Client().post(f"/p/{preferences_token(person.pk)}/", data).status_code


def test_a_preferences_change_is_summarised_in_the_new_language_with_a_link_back(
        reader: Subscriber, digest: MailingList, sink: SinkServer,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert preferences_post(reader, lists=[digest], language="ru") == 200
    (message,) = received(sink)
    text, html = parts(message)
    assert str(message["Subject"]) == "Настройки вашей подписки изменены"
    assert "Подписка оформлена: Digest" in text
    assert "Подписка отменена: News" in text
    assert "Язык: Русский" in text
    # The token carries the second it was made: read it back rather than make another.
    found = re.search(rf"{re.escape(SITE)}/p/([^/\s]+)/", text)
    assert found is not None and preferences_token_read(found.group(1)) == reader.pk
    assert f'href="{found.group(0)}"' in html


def test_saving_unchanged_preferences_sends_nothing(
        reader: Subscriber, news: MailingList, sink: SinkServer,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert preferences_post(reader, lists=[news]) == 200
    assert received(sink) == []


def test_leaving_everything_sends_no_preferences_mail(
        reader: Subscriber, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/p/{preferences_token(reader.pk)}/leave/")
    assert Subscription.objects.get(subscriber=reader).status == "unsubscribed"
    assert received(sink) == []


def test_a_hostile_name_is_neither_markup_nor_a_header_in_the_mail(
        reader: Subscriber, news: MailingList, sink: SinkServer,
        django_capture_on_commit_callbacks: Any) -> None:
    hostile = 'Eve <img src=x onerror="alert(1)"> {{ 7*7 }}\r\nBcc: victim@example.org'
    with django_capture_on_commit_callbacks(execute=True):
        assert preferences_post(reader, lists=[news], name=hostile) == 200
    (message,) = received(sink)
    text, html = parts(message)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "{{" not in text + html
    # Not evaluated: the lines naming the person carry no 49 (a random token elsewhere may).
    named = [line for line in text.splitlines() if "Eve" in line]
    assert named and not any("49" in line for line in named)
    assert message["Bcc"] is None and str(message["To"]) == "reader@example.org"


def test_a_hostile_list_name_is_text_in_the_confirmation(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    MailingList.objects.filter(pk=digest.pk).update(
        name='Digest <script>alert(1)</script> [x](javascript:alert(2)) {% raw %}')
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    (message,) = received(sink)
    text, html = parts(message)
    assert "<script>" not in html and "javascript:" not in html.replace("[x](javascript:", "")
    assert "&lt;script&gt;" in html
    assert "{%" not in text + html
    assert "\n" not in str(message["Subject"])


# --- outcomes -----------------------------------------------------------------------------

def test_a_sent_mail_is_recorded_with_the_relays_reply_and_its_message_id(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    (message,) = received(sink)
    row = TransactionalMail.objects.get()
    assert (row.kind, row.status, row.attempts) == ("confirmation", "sent", 1)
    assert row.smtp_reply.startswith("250")
    assert row.message_id == str(message["Message-ID"])
    assert row.sent_at is not None and row.mailing_list == digest


def test_a_deferred_mail_is_recorded_and_retried_with_the_same_message_id(
        digest: MailingList, relay: Callable[..., SinkServer], monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    from subscribers.tasks import transactional_mail

    server = relay(data_replies=["451 4.7.1 try again later"])
    retried: list[int] = []
    monkeypatch.setattr(transactional_mail, "retry",
                        lambda countdown: retried.append(countdown) or RuntimeError("retry"))
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    row = TransactionalMail.objects.get()
    assert (row.status, row.attempts, retried) == ("deferred", 1, [60])
    assert row.smtp_reply.startswith("451")
    transactional_mail.apply(args=(row.pk,))  # the retry, now that the relay accepts
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    (message,) = received(server)
    assert str(message["Message-ID"]) == row.message_id


def test_a_mail_deferred_until_the_retries_run_out_is_recorded_as_given_up(
        digest: MailingList, relay: Callable[..., SinkServer],
        django_capture_on_commit_callbacks: Any) -> None:
    from subscribers.tasks import MAIL_RETRIES, transactional_mail

    relay(data_replies=["451 4.7.1 try again later"] * 2)
    with django_capture_on_commit_callbacks(execute=False):
        subscribe(Client(), "digest")
    row = TransactionalMail.objects.get()
    result = transactional_mail.apply(args=(row.pk,), retries=MAIL_RETRIES)
    assert (result.state, result.result) == ("SUCCESS", False)
    row.refresh_from_db()
    assert row.status == "refused"
    assert row.smtp_reply.startswith(f"given up after {MAIL_RETRIES + 1} attempts; last reply: 451")


def test_erasing_a_person_keeps_their_mails_outcomes_but_not_the_relays_reply(
        digest: MailingList, relay: Callable[..., SinkServer],
        django_capture_on_commit_callbacks: Any) -> None:
    relay(rcpt_replies={"gone@example.org": "550 5.1.1 <gone@example.org>: no such user"})
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest", "gone@example.org")
    from subscribers.services import subscriber_erase

    subscriber_erase(Subscriber.objects.get(), actor="test")
    row = TransactionalMail.objects.get()
    assert (row.kind, row.status, row.subscriber, row.smtp_reply) == (
        "confirmation", "refused", None, "")


def test_a_sent_mail_whose_task_is_delivered_again_is_not_mailed_again(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    from subscribers.tasks import transactional_mail

    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest")
    row = TransactionalMail.objects.get()
    assert transactional_mail.apply(args=(row.pk,)).result is True  # the redelivered task
    assert len(received(sink)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_mail_refused_for_good_is_recorded_as_refused(
        digest: MailingList, relay: Callable[..., SinkServer],
        django_capture_on_commit_callbacks: Any) -> None:
    relay(rcpt_replies={"gone@example.org": "550 5.1.1 no such user"})
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest", "gone@example.org")
    row = TransactionalMail.objects.get()
    assert (row.status, row.attempts) == ("refused", 1)
    assert row.smtp_reply.startswith("550")


def test_a_confirmation_no_longer_needed_is_recorded_as_skipped(
        digest: MailingList, sink: SinkServer, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subscribe(Client(), "digest")
    Subscription.objects.update(status="confirmed")
    for callback in callbacks:
        callback()
    assert received(sink) == []
    assert TransactionalMail.objects.get().status == "skipped"


# --- the welcome text in the admin ---------------------------------------------------------

def list_form(mlist: MailingList, **fields: str) -> dict[str, str]:
    return {"name": mlist.name, "slug": mlist.slug, "description": "", "kind": mlist.kind,
            "opt_in": mlist.opt_in, "visibility": mlist.visibility,
            "tracking_mode": mlist.tracking_mode, "welcome_en": "", "welcome_ru": "", **fields}


def test_the_admin_refuses_a_welcome_text_that_cannot_be_rendered(
        admin_client: Client, news: MailingList) -> None:
    bad = "# Welcome\n\n{% if secret %}Hello{% endif %} and [a link](javascript:alert(1))\n"
    response = admin_client.post(f"/admin/subscribers/mailinglist/{news.pk}/change/",
                                 list_form(news, welcome_en=bad))
    assert response.status_code == 200  # the form again, with the errors
    page = response.content.decode()
    assert "The welcome mail cannot be rendered, so it was not saved" in page
    assert "template code" in page and "javascript" in page
    news.refresh_from_db()
    assert news.welcome_en == ""


def test_the_admin_saves_a_welcome_text_and_previews_it(
        admin_client: Client, news: MailingList) -> None:
    response = admin_client.post(f"/admin/subscribers/mailinglist/{news.pk}/change/",
                                 list_form(news, welcome_ru=WELCOME_RU))
    assert response.status_code == 302
    news.refresh_from_db()
    assert news.welcome_ru.startswith("---")
    preview = admin_client.get(f"/admin/subscribers/mailinglist/{news.pk}/welcome/ru/")
    assert preview.status_code == 200
    assert "sandbox" in preview["Content-Security-Policy"]
    assert "Hello Aigerim, one issue a month" in preview.content.decode()


def test_admins_see_each_mails_outcome_in_the_admin_list(
        admin_client: Client, digest: MailingList, sink: SinkServer,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Client(), "digest", "listed@example.org")
    page = admin_client.get("/admin/subscribers/transactionalmail/").content.decode()
    assert "listed@example.org" in page and "Confirmation" in page and "250" in page
