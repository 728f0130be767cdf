"""The audience: subscribers, lists, subscriptions with consent, suppressions, segments.

Business rules live in plain modules (``subscribers.services``, ``subscribers.importer``,
``subscribers.segments``), not in ``save()`` or signals.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


def email_hash(normalised_email: str) -> str:
    """Stable key of an address, kept in suppressions after the address itself is erased.

    The whole address is lower-cased first: RFC 5321 lets a local part be case-sensitive,
    but no real mailbox is, and people type ``Anna@`` and ``anna@`` for the same inbox, so
    one suppression must cover both spellings.
    """
    return hashlib.sha256(normalised_email.lower().encode("utf-8")).hexdigest()


class Tag(models.Model):
    name = models.SlugField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name


class Subscriber(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKLISTED = "blocklisted", "Blocklisted"

    email = models.EmailField(max_length=254, unique=True, help_text="Normalised: domain lower-case IDNA")
    email_hash = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=200, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    language = models.CharField(max_length=8, default="en")
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="subscribers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["country", "language"])]
        constraints = [
            # One person per address whatever the case of its local part (see email_hash).
            models.UniqueConstraint(Lower("email"), name="subscriber_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


class MailingList(models.Model):
    class Kind(models.TextChoices):
        PARTNER = "partner", "Partner"
        PUBLIC = "public", "Public"

    class OptIn(models.TextChoices):
        SINGLE = "single", "Single opt-in"
        DOUBLE = "double", "Double opt-in"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public (anyone can subscribe)"
        PRIVATE = "private", "Private (admins add people)"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PUBLIC)
    opt_in = models.CharField(max_length=16, choices=OptIn.choices, default=OptIn.SINGLE)
    visibility = models.CharField(max_length=16, choices=Visibility.choices,
                                  default=Visibility.PRIVATE)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="subscriptions")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE,
                                     related_name="subscriptions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_method = models.CharField(max_length=32, blank=True,
                                      help_text="import, form, api, admin, double-opt-in")
    consent_source = models.CharField(max_length=255, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "mailing_list"],
                                    name="one_subscription_per_list"),
        ]
        indexes = [models.Index(fields=["mailing_list", "status", "subscriber"])]

    def __str__(self) -> str:
        return f"{self.subscriber_id} -> {self.mailing_list_id} ({self.status})"


class SubscriptionEvent(models.Model):
    """Audit trail: every change of a subscription, who or what made it and when."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True,
                                   related_name="events")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.SET_NULL, null=True, blank=True)
    email_hash = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=32)
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    actor = models.CharField(max_length=128, help_text="user:<name>, subscriber, import, bounce, system")
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.old_status}->{self.new_status} by {self.actor}"


class Suppression(models.Model):
    """Global do-not-mail entry; every send checks it at plan time and again at send time."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCE = "soft_bounce", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed from everything"
        MANUAL = "manual", "Manual"
        ERASED = "erased", "Erased at the person's request"

    email = models.CharField(max_length=254, blank=True, help_text="Blank once erased")
    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email or self.email_hash[:12]} ({self.reason})"


class Segment(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    rule = models.TextField(help_text='e.g. country in (KZ, KG) and language = ru')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
