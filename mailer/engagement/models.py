"""Opens and clicks.

A pixel load or a click first lands in ``Hit`` (one INSERT, nothing read, nothing
updated: a burst after a big send costs the web app one cheap write per request).
``mailer.engagement.intake.hits_flush`` turns hits into ``Event`` rows in bulk: it looks
up the deliveries once per batch, applies the machine rules, and keeps a person's id
only when the send's mode for that person was ``per-person``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mailer.issues.models import Issue
from mailer.sending.models import Send
from subscribers.models import MailingList, Subscriber


class Kind(models.TextChoices):
    OPEN = "open", _("Open")
    CLICK = "click", _("Click")


class Actor(models.TextChoices):
    PERSON = "person", _("Person")
    MACHINE = "machine", _("Machine (scanner, link checker)")
    PROXY = "proxy", _("Privacy proxy (Apple Mail Privacy Protection)")


class TrackedLink(models.Model):
    """A URL of an issue. A click link names one of these, so it can only lead to a URL
    the issue contains, whatever its token says."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("issue"))
    url = models.TextField(_("URL"))
    url_hash = models.CharField(_("URL hash"), max_length=64)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        constraints = [models.UniqueConstraint(fields=["issue", "url_hash"],
                                               name="one_tracked_link_per_url")]

    def __str__(self) -> str:
        return self.url


class Hit(models.Model):
    """A request to the pixel or a click link, waiting to be flushed into events.
    Holds only what the signed token and the request said."""

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    send_id = models.BigIntegerField(_("send id"))
    delivery_id = models.BigIntegerField(_("delivery id"))
    mode = models.CharField(_("mode"), max_length=16)
    link_id = models.BigIntegerField(_("link id"), null=True)
    actor = models.CharField(_("actor"), max_length=8, choices=Actor.choices)
    sent_at = models.DateTimeField(_("message built at"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("hit")
        verbose_name_plural = _("hits")

    def __str__(self) -> str:
        return f"{self.kind} on send {self.send_id} (waiting)"


class Event(models.Model):
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="engagement_events",
                             db_index=False, verbose_name=_("send"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    actor = models.CharField(_("actor"), max_length=8, choices=Actor.choices)
    link = models.ForeignKey(TrackedLink, null=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("link"))
    # Counts one message's opens and clicks once; a keyed hash of (send, delivery), so an
    # aggregate-mode event does not name the person.
    visitor = models.CharField(_("visitor"), max_length=16)
    # Only in per-person mode. Erasing the person deletes their events (CASCADE).
    subscriber = models.ForeignKey(Subscriber, null=True, on_delete=models.CASCADE,
                                   related_name="engagement_events",
                                   verbose_name=_("subscriber"))
    mailing_list = models.ForeignKey(MailingList, null=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False,
                                     verbose_name=_("mailing list"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    seconds_after = models.IntegerField(_("seconds after delivery"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        indexes = [
            models.Index(fields=["send", "kind", "actor"], name="engagement_send_kind"),
            # retention walks old per-person events
            models.Index(fields=["at"], name="engagement_person_at",
                         condition=models.Q(subscriber__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor} on send {self.send_id}"


class FrozenListMode(models.Model):
    """Every list's tracking mode when a send was planned: changing a list later does not
    change how that send tracks (issue 11: a send's mode is frozen at planning)."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="frozen_list_modes",
                             verbose_name=_("send"))
    mailing_list_id = models.BigIntegerField(_("mailing list id"))
    mode = models.CharField(_("mode"), max_length=16)

    class Meta:
        verbose_name = _("list mode at planning")
        verbose_name_plural = _("list modes at planning")
        constraints = [models.UniqueConstraint(fields=["send", "mailing_list_id"],
                                               name="one_frozen_mode_per_list")]

    def __str__(self) -> str:
        return f"list {self.mailing_list_id}: {self.mode}"
