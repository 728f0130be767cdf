"""The audience: subscribers, lists, subscriptions with consent, suppressions, segments.

Business rules live in plain modules (``subscribers.services``, ``subscribers.importer``,
``subscribers.segments``), not in ``save()`` or signals.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailer.engagement.modes import TrackingMode, tracking_default


def email_hash(normalised_email: str) -> str:
    """Stable key of an address, kept in suppressions after the address itself is erased.

    The whole address is lower-cased first: RFC 5321 lets a local part be case-sensitive,
    but no real mailbox is, and people type ``Anna@`` and ``anna@`` for the same inbox, so
    one suppression must cover both spellings.
    """
    return hashlib.sha256(normalised_email.lower().encode("utf-8")).hexdigest()


class Tag(models.Model):
    name = models.SlugField(pgettext_lazy("title of a thing", "name"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Subscriber(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKLISTED = "blocklisted", _("Blocklisted")

    email = models.EmailField(_("email"), max_length=254, unique=True,
                              help_text=_("Normalised: domain lower-case IDNA"))
    email_hash = models.CharField(_("email hash"), max_length=64, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True,
                               help_text=_("ISO 3166-1 alpha-2"))
    language = models.CharField(_("language"), max_length=8, default="en")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="subscribers",
                                  verbose_name=_("tags"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
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
        PARTNER = "partner", _("Partner")
        PUBLIC = "public", _("Public")

    class OptIn(models.TextChoices):
        SINGLE = "single", _("Single opt-in")
        DOUBLE = "double", _("Double opt-in")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public (anyone can subscribe)")
        PRIVATE = "private", _("Private (admins add people)")

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(pgettext_lazy("title of a thing", "name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PUBLIC)
    opt_in = models.CharField(_("opt in"), max_length=16, choices=OptIn.choices,
                              default=OptIn.SINGLE)
    visibility = models.CharField(_("visibility"), max_length=16, choices=Visibility.choices,
                                  default=Visibility.PRIVATE)
    tracking_mode = models.CharField(
        _("open and click tracking"), max_length=16, choices=TrackingMode.choices,
        default=tracking_default,
        help_text=_("Applies to sends planned from now on; a person on several lists gets the "
                    "most private mode of them"))
    welcome_en = models.TextField(
        _("welcome mail (English)"), blank=True,
        help_text=_("Optional. Written like an issue (Markdown, front matter with subject and "
                    "preheader). Sent once to a person who joins the list on the public pages "
                    "(the confirmation link of a double opt-in, or the single opt-in form); "
                    "not to people added by an import, an admin or the API. Leave both "
                    "languages empty to send none."))
    welcome_ru = models.TextField(
        _("welcome mail (Russian)"), blank=True,
        help_text=_("The same in Russian, for people who chose Russian. If one language is "
                    "empty, the other one is sent."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("mailing list")
        verbose_name_plural = _("mailing lists")

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        CONFIRMED = "confirmed", _("Confirmed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="subscriptions", verbose_name=_("subscriber"))
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE,
                                     related_name="subscriptions",
                                     verbose_name=_("mailing list"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.CONFIRMED)
    consent_at = models.DateTimeField(_("consent at"), null=True, blank=True)
    consent_method = models.CharField(_("consent method"), max_length=32, blank=True,
                                      help_text=_("import, form, api, admin, double-opt-in"))
    consent_source = models.CharField(_("consent source"), max_length=255, blank=True)
    consent_ip = models.GenericIPAddressField(_("consent IP"), null=True, blank=True)
    consent_text = models.TextField(_("consent text"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "mailing_list"],
                                    name="one_subscription_per_list"),
        ]
        indexes = [models.Index(fields=["mailing_list", "status", "subscriber"])]

    def __str__(self) -> str:
        return f"{self.subscriber_id} -> {self.mailing_list_id} ({self.status})"


class ConsentRecord(models.Model):
    """One act of consent (a form, a confirmed link, an import, an admin), appended and never
    changed: the ``consent_*`` fields of a Subscription show only the latest one, these rows
    are the evidence of every one (issue 10: a later form post used to overwrite it).

    A record of a pending double opt-in is also the one-time key of its confirmation link:
    ``used_at`` is set, once, by the request that used the link."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="consent_records", verbose_name=_("subscriber"))
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("mailing list"))
    status = models.CharField(_("status"), max_length=16,
                              help_text=_("what the consent led to: unconfirmed or confirmed"))
    method = models.CharField(_("consent method"), max_length=32, blank=True)
    source = models.CharField(_("consent source"), max_length=255, blank=True)
    ip = models.GenericIPAddressField(_("consent IP"), null=True, blank=True)
    text = models.TextField(_("consent text"), blank=True)
    actor = models.CharField(_("actor"), max_length=128, blank=True)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    used_at = models.DateTimeField(_("confirmation link used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.status} {self.method} {self.given_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: a record, once written, is evidence (``used_at`` is set by a
        # conditional UPDATE in the confirm view, not here).
        if self.pk is not None and not self._state.adding:
            raise ValueError("consent records are appended, never changed")
        super().save(*args, **kwargs)


class SubscriptionEvent(models.Model):
    """Audit trail: every change of a subscription, who or what made it and when."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True,
                                   related_name="events", verbose_name=_("subscriber"))
    mailing_list = models.ForeignKey(MailingList, on_delete=models.SET_NULL, null=True, blank=True,
                                     verbose_name=_("mailing list"))
    email_hash = models.CharField(_("email hash"), max_length=64, db_index=True)
    action = models.CharField(_("action"), max_length=32)
    old_status = models.CharField(_("old status"), max_length=16, blank=True)
    new_status = models.CharField(_("new status"), max_length=16, blank=True)
    actor = models.CharField(_("actor"), max_length=128,
                             help_text=_("user:<name>, subscriber, import, bounce, system"))
    detail = models.TextField(_("detail"), blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.old_status}->{self.new_status} by {self.actor}"


class Suppression(models.Model):
    """Global do-not-mail entry; every send checks it at plan time and again at send time."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        SOFT_BOUNCE = "soft_bounce", _("Repeated soft bounces")
        COMPLAINT = "complaint", _("Spam complaint")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from everything")
        MANUAL = "manual", _("Manual")
        ERASED = "erased", _("Erased at the person's request")

    email = models.CharField(_("email"), max_length=254, blank=True,
                             help_text=_("Blank once erased"))
    email_hash = models.CharField(_("email hash"), max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    detail = models.TextField(_("detail"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")

    def __str__(self) -> str:
        return f"{self.email or self.email_hash[:12]} ({self.reason})"


class Segment(models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(pgettext_lazy("title of a thing", "name"), max_length=200)
    rule = models.TextField(_("rule"), help_text=_("e.g. country in (KZ, KG) and language = ru"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class TransactionalMail(models.Model):
    """One mail the audience app sends a person on its own (not a campaign): its kind, to
    whom, and the outcome of its last attempt. Written before the mail is queued, so a mail
    the relay deferred or a worker lost is visible, and updated by every attempt."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", _("Confirmation")
        WELCOME = "welcome", _("Welcome")
        PREFERENCES_CHANGED = "preferences_changed", _("Preferences changed")
        PREFERENCES_LINK = "preferences_link", _("Preferences link")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Deferred (retried)")
        REFUSED = "refused", _("Refused")
        SKIPPED = "skipped", _("Skipped (no longer needed)")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True,
                                   related_name="transactional_mails",
                                   verbose_name=_("subscriber"))
    mailing_list = models.ForeignKey(MailingList, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="+",
                                     verbose_name=_("mailing list"))
    subscription = models.ForeignKey(Subscription, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="+",
                                     verbose_name=_("subscription"))
    detail = models.JSONField(_("detail"), default=dict, blank=True,
                              help_text=_("what a preferences-changed mail reports"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    smtp_reply = models.CharField(_("SMTP reply"), max_length=500, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transactional mail")
        verbose_name_plural = _("transactional mails")
        ordering = ["-id"]
        constraints = [
            # A welcome goes to a person once per list, however often they confirm: the
            # insert that would be the second one fails, so two racing confirms send one.
            models.UniqueConstraint(fields=["subscriber", "mailing_list"],
                                    condition=models.Q(kind="welcome"),
                                    name="one_welcome_per_person_and_list"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
