"""Sends and the per-recipient delivery ledger.

Status fields change only through ``mailer.sending.state`` (Send) and the
claim/record functions in ``mailer.sending.delivery`` (Delivery).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailer.engagement.modes import TrackingMode
from mailer.env import ConfigError, SmtpRoute, host_is_loopback, smtp_from_url, url_has_password
from mailer.issues.models import Issue, IssueVariant
from subscribers.models import MailingList, Segment, Subscriber


class Route(models.Model):
    """A named SMTP relay a send can go through; sends without one use ``SMTP_URL``.

    The password lives in an environment variable of the workers (``password_env``), never
    in the database: the admin refuses a URL with a password in it."""

    name = models.SlugField(pgettext_lazy("title of a thing", "name"), max_length=50, unique=True)
    url = models.CharField(
        _("SMTP URL"), max_length=500,
        help_text=_("smtp://HOST:PORT, smtp+starttls://USER@HOST:587 or smtps://USER@HOST:465 "
                    "(no password here); add ?timeout=SECONDS if needed"))
    password_env = models.CharField(
        _("password variable"), max_length=100, blank=True,
        help_text=_("Name of the workers' environment variable that holds the password"))
    rate_per_second = models.FloatField(
        _("messages per second"), default=0.0,
        help_text=_("Limit for all workers together on this route; 0 uses SEND_RATE_PER_SECOND"))
    is_active = models.BooleanField(_("is active"), default=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("SMTP route")
        verbose_name_plural = _("SMTP routes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problem = password_env_problem(self.password_env)
        if problem:
            raise ValidationError({"password_env": problem})
        try:
            self.config(require_password=False)
        except ConfigError as exc:
            raise ValidationError(str(exc)) from None
        if self.rate_per_second < 0:
            raise ValidationError(_("The rate cannot be negative."))
        if self.rate_per_second > 0 and not settings.REDIS_URL:
            raise ValidationError(_(
                "A rate needs Redis: the limit is shared by every worker through it, and "
                "REDIS_URL is not set. Set REDIS_URL on the web app and the workers, or "
                "leave the rate at 0 (no limit)."))

    def config(self, *, require_password: bool = True) -> SmtpRoute:
        """The connection settings; ConfigError (naming the route, saying what to change) if
        they are unusable. Checked again before every batch, so a route saved before these
        rules existed is refused with the reason (its sends pause) until an Admin fixes it."""
        where = f"SMTP route {self.name!r}"
        route = smtp_from_url(f"{where} URL", self.url)
        if url_has_password(self.url):
            raise ConfigError(f"Do not write the password into the URL of {where} (it would be "
                              "stored in the database): remove it, put it in an environment "
                              f"variable of the workers named {ROUTE_PASSWORD_PREFIX}…, and give "
                              "that variable's name as the password variable")
        if route.username and route.security == "plain" and not host_is_loopback(route.host):
            raise ConfigError(f"{where}: a user name means logging in (AUTH), which would send "
                              f"the password unencrypted over smtp:// to {route.host}; use "
                              "smtp+starttls:// or smtps://, or remove the user name (only a "
                              "relay on this machine, e.g. 127.0.0.1, may take AUTH without TLS)")
        if self.password_env:
            problem = password_env_problem(self.password_env)
            if problem:
                raise ConfigError(f"{where}: {problem}")
            password = os.environ.get(self.password_env)
            if password is None and require_password:
                raise ConfigError(f"{where}: the environment variable "
                                  f"{self.password_env} (its password) is not set")
            route = replace(route, password=password or "")
        return route


# A route's password variable must carry this prefix, so a route can only ever read a
# variable set for it, never another secret of the workers (DATABASE_URL, SECRET_KEY).
ROUTE_PASSWORD_PREFIX = "SMTP_PASSWORD_"  # noqa: S105 -- a name prefix, not a password


def password_env_problem(name: str) -> str:
    """Why ``name`` cannot be a route's password variable ("" if it can, or is empty)."""
    if not name:
        return ""
    if not re.fullmatch(rf"{ROUTE_PASSWORD_PREFIX}[A-Z0-9_]+", name):
        return str(_("The password variable must be named %(prefix)s… in capitals (e.g. "
                     "%(prefix)sPARTNERS), so that a route can read only a password set for it "
                     "and never another secret of the workers; %(name)r is refused. Set the "
                     "password in such a variable on the workers and enter its name here.")
                   % {"prefix": ROUTE_PASSWORD_PREFIX, "name": name})
    if name in _app_setting_names():
        return str(_("%(name)s is one of the application's own settings and cannot hold a "
                     "route's password; choose another name.") % {"name": name})
    return ""


def _app_setting_names() -> frozenset[str]:
    return frozenset(n for n in dir(settings) if n.isupper())


class Send(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PLANNING = "planning", _("Planning")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", pgettext_lazy("send status", "Failed")

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="sends",
                              verbose_name=_("issue"))
    lists = models.ManyToManyField(MailingList, related_name="sends", verbose_name=_("lists"))
    excluded_lists = models.ManyToManyField(MailingList, related_name="excluded_from_sends",
                                            blank=True, verbose_name=_("excluded lists"))
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT,
                                verbose_name=_("segment"))
    smtp_route = models.ForeignKey(Route, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="sends", verbose_name=_("SMTP route"),
                                   help_text=_("Empty: the default route (SMTP_URL)"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT)
    status_reason = models.TextField(_("status reason"), blank=True)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    planned_count = models.PositiveIntegerField(_("planned count"), default=0)
    # Frozen at planning (mailer.engagement.planning); blank: planned before tracking existed.
    tracking_mode = models.CharField(_("tracking mode"), max_length=16, blank=True,
                                     choices=TrackingMode.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("send")
        verbose_name_plural = _("sends")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Send #{self.pk} of {self.issue} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not a rule: every writer (admin, shell, a future view) passes here, so an
        # approved or scheduled send cannot be pointed at another audience (issue 10).
        if self.pk and not self._state.adding:
            stored = Send.objects.filter(pk=self.pk).values(*LOCKED_FIELDS).first()
            if stored and any(stored[f] != getattr(self, f) for f in LOCKED_FIELDS) \
                    and send_is_locked(self.pk):
                raise SendLocked(self.pk)
        super().save(*args, **kwargs)

    @property
    def locked(self) -> bool:
        """What it sends and to whom can no longer change: it left draft, or it waits for
        (or has) an approval, which was given for exactly this issue and audience."""
        return send_is_locked(self.pk) if self.pk else False


# Foreign keys of a send that its lock covers (with the lists, see send_lists_guard).
LOCKED_FIELDS = ("issue_id", "segment_id", "smtp_route_id")


class SendLocked(ValidationError):
    """An attempt to change the issue, lists, segment or route of a locked send."""

    def __init__(self, send_id: int) -> None:
        super().__init__(_("Send %(id)s has left draft or waits for approval: its issue, lists, "
                           "segment and SMTP route can no longer change. Nothing was changed; "
                           "cancel it and create a new send instead.") % {"id": send_id})


def send_is_locked(send_id: int) -> bool:
    return Send.objects.filter(pk=send_id).exclude(
        status=Send.Status.DRAFT, approval__isnull=True).exists()


@receiver(m2m_changed, sender=Send.lists.through)
@receiver(m2m_changed, sender=Send.excluded_lists.through)
def send_lists_guard(sender: Any, instance: Any, action: str, reverse: bool,
                     pk_set: set[int] | None, **kwargs: Any) -> None:
    """Many-to-many writes bypass ``save``; this refuses them for locked sends, from either
    side (``send.lists.add(...)`` or ``mailing_list.sends.add(send)``)."""
    if not action.startswith("pre_"):
        return
    if not reverse:
        if send_is_locked(instance.pk):
            raise SendLocked(instance.pk)
        return
    ids = pk_set if pk_set is not None else set(
        sender.objects.filter(mailinglist_id=instance.pk).values_list("send_id", flat=True))
    for send_id in ids:
        if send_is_locked(send_id):
            raise SendLocked(send_id)


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending (claimed)")
        RETRYING = "retrying", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", pgettext_lazy("delivery status", "Failed")
        BOUNCED = "bounced", pgettext_lazy("delivery status", "Bounced")
        SKIPPED = "skipped", _("Skipped")

    # Every index here is written twice per message (claim, outcome), so the ledger
    # keeps only the ones a hot query or a delete needs: ``send`` is served by the
    # unique (send, subscriber) index, variant/list lookups are rare admin deletes.
    # The send, variant and list references are kept by the application (Django's
    # on_delete: CASCADE, PROTECT, SET_NULL), not by database foreign keys: planning
    # writes a row per recipient that always names the send's own rows, and checking
    # those three parents once per row was 12 of the 27 s that planning 1,000,000
    # recipients took. The subscriber reference keeps its constraint (erasure).
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="deliveries",
                             db_index=False, db_constraint=False, verbose_name=_("send"))
    subscriber = models.ForeignKey(Subscriber, null=True, on_delete=models.SET_NULL,
                                   related_name="deliveries", verbose_name=_("subscriber"))
    email = models.CharField(_("email"), max_length=254)
    variant = models.ForeignKey(IssueVariant, on_delete=models.PROTECT, db_index=False,
                                db_constraint=False, verbose_name=_("variant"))
    # The list this recipient is mailed through (lowest id of their confirmed lists in
    # the send): names the List-Id and the list the one-click unsubscribe leaves.
    mailing_list = models.ForeignKey(MailingList, null=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False, db_constraint=False,
                                     verbose_name=_("mailing list"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    lease_owner = models.CharField(_("lease owner"), max_length=64, blank=True)
    smtp_code = models.PositiveSmallIntegerField(_("SMTP code"), null=True, blank=True)
    smtp_reply = models.TextField(_("SMTP reply"), blank=True)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    possibly_duplicated = models.BooleanField(_("possibly duplicated"), default=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["send", "subscriber"], name="one_delivery_per_recipient"),
        ]
        indexes = [
            # Only unfinished rows: the claim query's index stays small, and a row that
            # becomes sent/failed/bounced/skipped adds no entry to it.
            models.Index(fields=["send", "id"], name="delivery_unfinished",
                         condition=models.Q(status__in=["pending", "sending", "retrying"])),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class SendBatch(models.Model):
    """A range of Delivery ids handed to one Celery task.

    The rows are the truth; a batch only records when its task was last enqueued
    or seen working, so the reconciler can re-enqueue a task that Redis or a dead
    worker lost without flooding the queue with copies of live ones.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        WAITING = "waiting", _("Waiting for retries")
        DONE = "done", pgettext_lazy("batch status", "Done")

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="batches",
                             verbose_name=_("send"))
    low_id = models.BigIntegerField(_("low id"))
    high_id = models.BigIntegerField(_("high id"))
    size = models.PositiveIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.QUEUED)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    touched_at = models.DateTimeField(_("touched at"), null=True, blank=True)
    enqueued_count = models.PositiveIntegerField(_("enqueued count"), default=0)
    # Times the reconciler found this batch's worker gone (heartbeat silent) since the
    # send last started or resumed; a crash loop pauses the send instead of looping.
    worker_deaths = models.PositiveIntegerField(_("worker deaths"), default=0)

    class Meta:
        verbose_name = _("send batch")
        verbose_name_plural = _("send batches")
        constraints = [
            models.UniqueConstraint(fields=["send", "low_id"], name="one_batch_per_range_start"),
        ]
        indexes = [models.Index(fields=["status", "touched_at"])]

    def __str__(self) -> str:
        return f"Send #{self.send_id} ids {self.low_id}..{self.high_id} ({self.status})"
