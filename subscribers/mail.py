"""Mail the audience app sends itself: the double opt-in confirmation.

Sent with ``django.core.mail`` over the SMTP route from ``settings.SMTP_ROUTE`` (the same
relay as newsletters) unless the project chose another EMAIL_BACKEND (tests use locmem).
Run by a Celery worker (``subscribers.tasks.confirmation_mail``), queued when the
subscribe transaction commits: no network I/O in the request nor in a transaction.
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import translation

from subscribers.models import Subscription
from subscribers.tokens import CONFIRM_MAX_AGE_DAYS, confirm_token

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def mail_connection() -> BaseEmailBackend:
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        return get_connection()
    route = settings.SMTP_ROUTE
    return get_connection(
        SMTP_BACKEND, host=route.host, port=route.port, username=route.username or None,
        password=route.password or None, use_tls=route.security == "starttls",
        use_ssl=route.security == "tls", timeout=route.timeout)


def confirmation_send(subscription_id: int) -> bool:
    """Send the confirmation link; False (logged) if the relay refused or was unreachable.
    The person sees the same page either way and can simply subscribe again."""
    sub = Subscription.objects.select_related("subscriber", "mailing_list").get(
        pk=subscription_id)
    url = f"{settings.SITE_URL}/confirm/{confirm_token(sub.pk, sub.subscriber.email_hash)}/"
    with translation.override(sub.subscriber.language):
        context = {"list": sub.mailing_list, "url": url, "days": CONFIRM_MAX_AGE_DAYS}
        subject = render_to_string("subscribers/email/confirm_subject.txt", context).strip()
        body = render_to_string("subscribers/email/confirm_body.txt", context)
    message = EmailMessage(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL,
                           [sub.subscriber.email], connection=mail_connection())
    message.extra_headers["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("confirmation mail for subscription %s not sent: %s", sub.pk, exc)
        return False
    return True
