"""Mail the audience app sends itself: the double opt-in confirmation, a list's welcome,
the summary of a change on the preferences page, and a fresh preferences link.

Each mail is first a ``TransactionalMail`` row (written in the request's transaction, the
task queued when it commits), so its outcome is visible to admins and a lost task leaves
a trace. The content is rendered like an issue (``subscribers.mail_content``), built with
``django.core.mail`` (HTML + text, ``multipart/alternative``), then signed and delivered
by the same code as newsletters (``mailer.sending.outbound.message_deliver`` over
``settings.SMTP_ROUTE``), with the same outcome classes: a permanent refusal of the
address is a hard bounce (suppressed, not retried); a deferral is retried by the task.
A project that chose another EMAIL_BACKEND (tests use locmem) gets the built message
through that backend instead. No network I/O in the request nor in a transaction.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mailer.brand.services import brand_current
from mailer.env import ConfigError
from mailer.rendering import RenderError
from mailer.rendering.findings import Finding
from mailer.sending.mime import CRLF, address_encode, header_encode, reply_to_header
from mailer.sending.outbound import message_deliver, sender_address
from mailer.sending.smtp import DeliveryError, SmtpSession
from subscribers import mail_content
from subscribers.mail_content import MailTemplate, PreferencesChange
from subscribers.models import (
    ConsentRecord,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    TransactionalMail,
)
from subscribers.services import name_clean, suppression_add
from subscribers.tokens import confirm_token, preferences_token, unsubscribe_token

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
Kind = TransactionalMail.Kind
Status = TransactionalMail.Status

# Python's SMTP policy writes 78-character QP lines (CPython issue 78206); RFC 2045 §6.7
# allows 76. It builds the body only: its header folding drops the space between two
# encoded words of a Cyrillic subject, so the headers are written as campaign mail's are.
MAIL_POLICY = SMTP.clone(max_line_length=76)


class Sent(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # worth retrying: the relay deferred or could not be reached
    REFUSED = "refused"  # for good: retrying the same message cannot help
    SKIPPED = "skipped"  # no longer needed (confirmed meanwhile, erased, suppressed)


# --- Queueing: a row first, the task when the transaction commits -----------------------

def mail_queue(kind: str, subscriber: Subscriber, *, mailing_list: MailingList | None = None,
               subscription: Subscription | None = None,
               detail: dict[str, object] | None = None) -> TransactionalMail | None:
    """Record a mail to send and queue its task after commit. Returns None for a second
    welcome to the same person and list (one per list, ever: the database says so)."""
    try:
        with transaction.atomic():  # a savepoint: a refused insert leaves the caller's work
            mail = TransactionalMail.objects.create(
                kind=kind, subscriber=subscriber, mailing_list=mailing_list,
                subscription=subscription, detail=detail or {})
    except IntegrityError:
        return None
    from subscribers.tasks import transactional_mail  # tasks import this module

    transaction.on_commit(lambda: transactional_mail.delay(mail.pk))
    return mail


def welcome_queue(subscription: Subscription) -> TransactionalMail | None:
    """Queue the list's welcome mail for a subscription that just became confirmed on the
    public pages, if the list has one and the person never got it."""
    mlist = subscription.mailing_list
    if not (mlist.welcome_en.strip() or mlist.welcome_ru.strip()):
        return None
    if TransactionalMail.objects.filter(kind=Kind.WELCOME, subscriber_id=subscription.subscriber_id,
                                        mailing_list=mlist).exists():
        return None
    return mail_queue(Kind.WELCOME, subscription.subscriber, mailing_list=mlist,
                      subscription=subscription)


# --- Sending one recorded mail --------------------------------------------------------

def transactional_send(mail_id: int) -> Sent:
    """Render, deliver and record the outcome of one ``TransactionalMail``. A mail no longer
    needed (the subscription changed meanwhile, the person was erased or is suppressed for
    a bounce or complaint) is marked skipped, not sent."""
    mail = TransactionalMail.objects.select_related(
        "subscriber", "mailing_list", "subscription").filter(pk=mail_id).first()
    if mail is None:
        return Sent.SKIPPED
    if mail.status not in OPEN:  # a task delivered twice (acks_late): never mail twice
        return Sent(mail.status)
    person = mail.subscriber
    if person is None or not _still_wanted(mail, person):
        _record(mail, Sent.SKIPPED)
        return Sent.SKIPPED
    try:
        data = _message(mail, person)
    except RenderError as exc:  # a welcome text broken after it was saved, e.g. by a brand change
        log.error("%s not rendered: %s", mail, exc)
        _record(mail, Sent.REFUSED, reply=f"not rendered: {exc}")
        return Sent.REFUSED
    outcome, reply = _deliver(data, person.email, str(mail))
    _record(mail, outcome, reply=reply, message_id=message_id_for_mail(mail.pk))
    return outcome


def transactional_give_up(mail_id: int, attempts: int) -> None:
    """A mail the relay kept deferring until the retries ran out: recorded as refused, so
    the admin list does not show it as still being retried."""
    last = TransactionalMail.objects.filter(pk=mail_id).values_list("smtp_reply", flat=True).first()
    mail_transition(mail_id, Status.REFUSED,
                    smtp_reply=f"given up after {attempts} attempts; last reply: {last}"[:500])


# Queued and deferred mails may still change; sent, refused and skipped ones are final.
OPEN = (Status.QUEUED, Status.DEFERRED)


def mail_transition(mail_id: int, status: Status, **fields: Any) -> bool:
    """The one place a ``TransactionalMail`` changes status: only an open mail changes, by a
    conditional UPDATE whose row count says whether this call did it."""
    return TransactionalMail.objects.filter(pk=mail_id, status__in=OPEN).update(
        status=status, updated_at=timezone.now(), **fields) == 1


def _still_wanted(mail: TransactionalMail, person: Subscriber) -> bool:
    blocked = Suppression.objects.filter(email_hash=person.email_hash).exclude(
        reason=Suppression.Reason.UNSUBSCRIBED).exists()
    if blocked or person.status == Subscriber.Status.BLOCKLISTED:
        return False
    sub = mail.subscription
    if mail.kind == Kind.CONFIRMATION:
        return sub is not None and sub.status == Subscription.Status.UNCONFIRMED
    if mail.kind == Kind.WELCOME:
        return sub is not None and sub.status == Subscription.Status.CONFIRMED
    return True


def _record(mail: TransactionalMail, outcome: Sent, *, reply: str = "",
            message_id: str = "") -> None:
    fields: dict[str, Any] = {"smtp_reply": reply[:500]}
    if outcome != Sent.SKIPPED:
        fields.update(attempts=F("attempts") + 1, message_id=message_id)
    if outcome == Sent.SENT:
        fields["sent_at"] = timezone.now()
    mail_transition(mail.pk, Status(outcome.value), **fields)


def message_id_for_mail(mail_id: int) -> str:
    """Of our mail domain (not the host name, often "localhost"), and the same for every
    attempt of one mail, so a receiver can spot a copy re-sent after a lost reply."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"tm:{mail_id}".encode(),
                      hashlib.sha256).hexdigest()[:12]
    return f"<tm.{mail_id}.{digest}@{settings.MAIL_DOMAIN}>"


# --- Content per kind -------------------------------------------------------------------

def _language(person: Subscriber) -> str:
    return person.language if person.language in {"en", "ru"} else "en"


def _confirmation(mail: TransactionalMail, person: Subscriber) -> tuple[MailTemplate, str]:
    sub, mlist = mail.subscription, mail.mailing_list
    assert sub is not None and mlist is not None  # _still_wanted checked the subscription
    language = _language(person)
    template = mail_content.mail_compiled(Kind.CONFIRMATION, mlist.pk, language,
                                          mail_content.confirmation_source(mlist, language))
    pending = (ConsentRecord.objects.filter(
        subscriber_id=sub.subscriber_id, mailing_list_id=sub.mailing_list_id,
        status=Subscription.Status.UNCONFIRMED, used_at__isnull=True).order_by("-id")
        .values_list("pk", flat=True).first())
    return template, confirm_token(sub.pk, person.email_hash, pending)


def _welcome(mail: TransactionalMail, person: Subscriber) -> tuple[MailTemplate, str]:
    mlist = mail.mailing_list
    assert mlist is not None
    source, language = mail_content.welcome_source(mlist, _language(person))
    if not source:
        raise RenderError([Finding(
            "error", "welcome-empty", "the list's welcome mail was removed after it was queued")])
    return mail_content.mail_compiled(Kind.WELCOME, mlist.pk, language, source), ""


def _preferences_changed(mail: TransactionalMail, person: Subscriber) -> tuple[MailTemplate, str]:
    change = PreferencesChange.from_detail(mail.detail)
    language = _language(person)
    source = mail_content.preferences_changed_source(change, language)
    return mail_content.mail_compiled(Kind.PREFERENCES_CHANGED, 0, language, source), ""


def _preferences_link(mail: TransactionalMail, person: Subscriber) -> tuple[MailTemplate, str]:
    language = _language(person)
    source = mail_content.preferences_link_source(language)
    return mail_content.mail_compiled(Kind.PREFERENCES_LINK, 0, language, source), ""


CONTENT: dict[str, Callable[[TransactionalMail, Subscriber], tuple[MailTemplate, str]]] = {
    Kind.CONFIRMATION: _confirmation,
    Kind.WELCOME: _welcome,
    Kind.PREFERENCES_CHANGED: _preferences_changed,
    Kind.PREFERENCES_LINK: _preferences_link,
}


def sample_values() -> dict[str, str]:
    """Merge values for previews: no recipient, so no personal links."""
    archive = f"{settings.SITE_URL}/archive/"
    return {"first_name": "Aigerim", "name": "Aigerim Bekova", "email": "aigerim@example.org",
            "organisation": "", "unsubscribe_url": archive, "preferences_url": archive,
            "web_url": archive}


def merge_values(mail: TransactionalMail, person: Subscriber) -> dict[str, str]:
    """The issue merge fields for one person. "View in browser" leads to the public
    archive: these mails have no web version of their own."""
    name = name_clean(person.name)
    site = settings.SITE_URL
    return {
        "first_name": name.split()[0] if name else "",
        "name": name,
        "email": person.email,
        "organisation": name_clean(person.organisation),
        "unsubscribe_url": f"{site}/u/{unsubscribe_token(person.pk, mail.mailing_list_id)}/",
        "preferences_url": f"{site}/p/{preferences_token(person.pk)}/",
        "web_url": f"{site}/archive/",
    }


def _message(mail: TransactionalMail, person: Subscriber) -> bytes:
    """The whole message, CRLF line ends: multipart/alternative, text/plain first and
    text/html last (RFC 2046 §5.1.4), both UTF-8 quoted-printable (no 8-bit data for relays
    without 8BITMIME; MRML's long HTML lines stay within RFC 5322's 998); an ASCII header
    block with RFC 2047 encoded words (``mailer.sending.mime``)."""
    template, token = CONTENT[mail.kind](mail, person)
    values = merge_values(mail, person)
    body_html, body_text = template.render(values, token=token)
    body = EmailMessage(policy=MAIL_POLICY)
    body.set_content(body_text, subtype="plain", charset="utf-8", cte="quoted-printable")
    body.add_alternative(body_html, subtype="html", charset="utf-8", cte="quoted-printable")
    display, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
    head = b"".join([
        f"Date: {formatdate(usegmt=True)}\r\n".encode(),
        b"From: " + address_encode(display, sender).encode() + CRLF,
        # The bare address: no name typed into a form ever reaches a header.
        f"To: {person.email}\r\n".encode(),
        header_encode("Subject", template.subject),
        f"Message-ID: {message_id_for_mail(mail.pk)}\r\n".encode(),
        b"Auto-Submitted: auto-generated" + CRLF,  # RFC 3834 §5
        reply_to_header(brand_current().reply_to),
        *_list_headers(mail, values["unsubscribe_url"]),
    ])
    return head + body.as_bytes()


def _list_headers(mail: TransactionalMail, unsubscribe: str) -> list[bytes]:
    """A welcome is the first mail of a list: it carries the list's one-click unsubscribe
    (RFC 2369, RFC 8058) like the issues that follow. The others answer the person's own
    action and belong to no list's stream."""
    if mail.kind != Kind.WELCOME or mail.mailing_list is None:
        return []
    return [f"List-Id: <{mail.mailing_list.slug}.{settings.MAIL_DOMAIN}>\r\n".encode(),
            f"List-Unsubscribe: <{unsubscribe}>\r\n".encode(),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" + CRLF]


class _Prebuilt(EmailMultiAlternatives):
    """Hands a message built here, unchanged, to another Django mail backend (tests use
    locmem, whose outbox keeps the subject and text body readable)."""

    def __init__(self, data: bytes) -> None:
        self.built = email.message_from_bytes(data, policy=email.policy.default)
        text = self.built.get_body(("plain",))  # type: ignore[attr-defined]
        super().__init__(str(self.built["Subject"]), text.get_content() if text else "",
                         str(self.built["From"]), [str(self.built["To"])])

    def message(self, *args: Any, **kwargs: Any) -> Any:
        return self.built


def _deliver(data: bytes, address: str, what: str) -> tuple[Sent, str]:
    """(outcome, the server's reply) of one delivery over the one outbound path."""
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        _Prebuilt(data).send()
        return Sent.SENT, ""
    session = SmtpSession(settings.SMTP_ROUTE)
    try:
        accepted = message_deliver(session, sender_address(), address, data)
    except DeliveryError as exc:
        reply = f"{exc.code or ''} {exc.reply or exc}".strip()
        if exc.permanent and exc.recipient:
            suppression_add(address, Suppression.Reason.HARD_BOUNCE, detail=f"SMTP {reply}"[:500])
        log.warning("%s not sent: %s", what, exc)
        return (Sent.REFUSED if exc.permanent else Sent.DEFERRED), reply
    except ConfigError as exc:  # an unusable DKIM key: worth retrying once it is fixed
        log.error("%s not sent: %s", what, exc)
        return Sent.DEFERRED, f"not sent: {exc}"
    finally:
        session.close()
    return Sent.SENT, f"{accepted.code} {accepted.reply}"
