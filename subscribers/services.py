"""Audience domain operations: normalising addresses, subscribing, unsubscribing, suppressing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from subscribers.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    email_hash,
)


class InvalidAddress(ValueError):
    """The address is not a deliverable-looking email address."""


def email_normalise(raw: str) -> str:
    """Lower-case and IDNA-encode the domain; keep the local part as written (RFC 5321 §2.4)."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    return f"{info.local_part}@{info.ascii_domain.lower()}"


def is_suppressed(normalised_email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(normalised_email)).exists()


def suppression_add(normalised_email: str, reason: str, detail: str = "") -> Suppression:
    obj, _ = Suppression.objects.get_or_create(
        email_hash=email_hash(normalised_email),
        defaults={"email": normalised_email, "reason": reason, "detail": detail},
    )
    return obj


def subscription_set(subscriber: Subscriber, mailing_list: MailingList, status: str, *,
                     actor: str, method: str = "", source: str = "", ip: str | None = None,
                     consent_text: str = "") -> Subscription:
    """Create or change one subscription and record the change in the audit trail."""
    with transaction.atomic():
        sub, created = Subscription.objects.select_for_update().get_or_create(
            subscriber=subscriber, mailing_list=mailing_list,
            defaults={"status": status, "consent_at": timezone.now() if status != "unsubscribed" else None,
                      "consent_method": method, "consent_source": source, "consent_ip": ip,
                      "consent_text": consent_text},
        )
        old = "" if created else sub.status
        if not created and sub.status != status:
            sub.status = status
            sub.save(update_fields=["status", "updated_at"])
        if created or old != status:
            SubscriptionEvent.objects.create(
                subscriber=subscriber, mailing_list=mailing_list, email_hash=subscriber.email_hash,
                action="subscription", old_status=old, new_status=status, actor=actor,
                detail=source, ip=ip,
            )
    return sub
