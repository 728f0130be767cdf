"""Mail the audience app sends itself: the double opt-in confirmation and, on request from
an unsubscribe page, a fresh preferences link.

Built with ``django.core.mail`` (templates, translation, headers), then signed and
delivered by the same code as newsletters (``mailer.sending.outbound.message_deliver``
over ``settings.SMTP_ROUTE``), with the same outcome classes: a permanent refusal of the
address is a hard bounce (suppressed, not retried); a deferral is retried by the task.
A project that chose another EMAIL_BACKEND (tests use locmem) gets the built message
through that backend instead. Run by Celery workers (``subscribers.tasks``), queued when
the request's transaction commits: no network I/O in the request nor in a transaction.
"""

from __future__ import annotations

import logging
from email.utils import make_msgid
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from mailer.brand.services import brand_current
from mailer.env import ConfigError
from mailer.sending.outbound import message_deliver, sender_address
from mailer.sending.smtp import DeliveryError, SmtpSession
from subscribers.models import ConsentRecord, Subscriber, Subscription, Suppression
from subscribers.services import suppression_add
from subscribers.tokens import CONFIRM_MAX_AGE_DAYS, confirm_token, preferences_token

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class Sent(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # worth retrying: the relay deferred or could not be reached
    REFUSED = "refused"  # for good: retrying the same message cannot help


def confirmation_send(subscription_id: int) -> Sent:
    """Send the confirmation link (single-use: it names the pending consent record). The
    person sees the same page whatever the outcome and can simply subscribe again."""
    sub = Subscription.objects.select_related("subscriber", "mailing_list").get(
        pk=subscription_id)
    pending = (ConsentRecord.objects.filter(
        subscriber_id=sub.subscriber_id, mailing_list_id=sub.mailing_list_id,
        status=Subscription.Status.UNCONFIRMED, used_at__isnull=True).order_by("-id")
        .values_list("pk", flat=True).first())
    token = confirm_token(sub.pk, sub.subscriber.email_hash, pending)
    url = f"{settings.SITE_URL}/confirm/{token}/"
    with translation.override(sub.subscriber.language):
        context = {"list": sub.mailing_list, "url": url, "days": CONFIRM_MAX_AGE_DAYS}
        message = _transactional(sub.subscriber.email, "subscribers/email/confirm", context)
    return _send(message, sub.subscriber.email, f"confirmation mail for subscription {sub.pk}")


def preferences_link_send(subscriber_id: int) -> Sent:
    """Mail a fresh preferences link to the person's own address (asked for from an
    unsubscribe page, which no longer shows one)."""
    person = Subscriber.objects.filter(pk=subscriber_id).first()
    if person is None:
        return Sent.REFUSED  # erased meanwhile: nobody to mail
    url = f"{settings.SITE_URL}/p/{preferences_token(person.pk)}/"
    with translation.override(person.language):
        message = _transactional(person.email, "subscribers/email/preferences", {"url": url})
    return _send(message, person.email, f"preferences link for subscriber {person.pk}")


def _transactional(address: str, template: str, context: dict[str, object]) -> EmailMessage:
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}_body.txt", context)
    message = EmailMessage(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [address])
    message.extra_headers["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    message.reply_to = [r for r in [brand_current().reply_to] if r]
    # Of our mail domain, not the host name Django would use (often "localhost").
    message.extra_headers["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAIN)
    return message


def _send(message: EmailMessage, address: str, what: str) -> Sent:
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        message.send()
        return Sent.SENT
    session = SmtpSession(settings.SMTP_ROUTE)
    try:
        message_deliver(session, sender_address(), address,
                        message.message().as_bytes(linesep="\r\n"))
    except DeliveryError as exc:
        if exc.permanent and exc.recipient:
            suppression_add(address, Suppression.Reason.HARD_BOUNCE,
                            detail=f"SMTP {exc.code} {exc.reply}"[:500])
        log.warning("%s not sent: %s", what, exc)
        return Sent.REFUSED if exc.permanent else Sent.DEFERRED
    except ConfigError as exc:  # an unusable DKIM key: worth retrying once it is fixed
        log.error("%s not sent: %s", what, exc)
        return Sent.DEFERRED
    finally:
        session.close()
    return Sent.SENT
