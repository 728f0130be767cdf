"""Mail the audience app sends itself: the double opt-in confirmation.

Built with ``django.core.mail`` (templates, translation, headers), then signed and
delivered by the same code as newsletters (``mailer.sending.outbound.message_deliver``
over ``settings.SMTP_ROUTE``), with the same outcome classes: a permanent refusal of the
address is a hard bounce (suppressed, not retried); a deferral is retried by the task.
A project that chose another EMAIL_BACKEND (tests use locmem) gets the built message
through that backend instead. Run by a Celery worker
(``subscribers.tasks.confirmation_mail``), queued when the subscribe transaction
commits: no network I/O in the request nor in a transaction.
"""

from __future__ import annotations

import logging
from email.utils import make_msgid
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from mailer.env import ConfigError
from mailer.sending.outbound import message_deliver, sender_address
from mailer.sending.smtp import DeliveryError, SmtpSession
from subscribers.models import Subscription, Suppression
from subscribers.services import suppression_add
from subscribers.tokens import CONFIRM_MAX_AGE_DAYS, confirm_token

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class Sent(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # worth retrying: the relay deferred or could not be reached
    REFUSED = "refused"  # for good: retrying the same message cannot help


def confirmation_send(subscription_id: int) -> Sent:
    """Send the confirmation link. The person sees the same page whatever the outcome and
    can simply subscribe again."""
    sub = Subscription.objects.select_related("subscriber", "mailing_list").get(
        pk=subscription_id)
    url = f"{settings.SITE_URL}/confirm/{confirm_token(sub.pk, sub.subscriber.email_hash)}/"
    with translation.override(sub.subscriber.language):
        context = {"list": sub.mailing_list, "url": url, "days": CONFIRM_MAX_AGE_DAYS}
        subject = render_to_string("subscribers/email/confirm_subject.txt", context).strip()
        body = render_to_string("subscribers/email/confirm_body.txt", context)
    message = EmailMessage(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL,
                           [sub.subscriber.email])
    message.extra_headers["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    # Of our mail domain, not the host name Django would use (often "localhost").
    message.extra_headers["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAIN)
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        message.send()
        return Sent.SENT
    return _deliver(sub, message.message().as_bytes(linesep="\r\n"))


def _deliver(sub: Subscription, data: bytes) -> Sent:
    email = sub.subscriber.email
    session = SmtpSession(settings.SMTP_ROUTE)
    try:
        message_deliver(session, sender_address(), email, data)
    except DeliveryError as exc:
        if exc.permanent and exc.recipient:
            suppression_add(email, Suppression.Reason.HARD_BOUNCE,
                            detail=f"SMTP {exc.code} {exc.reply}"[:500])
        log.warning("confirmation mail for subscription %s not sent: %s", sub.pk, exc)
        return Sent.REFUSED if exc.permanent else Sent.DEFERRED
    except ConfigError as exc:  # an unusable DKIM key: worth retrying once it is fixed
        log.error("confirmation mail for subscription %s not sent: %s", sub.pk, exc)
        return Sent.DEFERRED
    finally:
        session.close()
    return Sent.SENT
