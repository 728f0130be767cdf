"""Every bounce and complaint we accepted, kept so soft bounces can be counted."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BounceEvent(models.Model):
    class Kind(models.TextChoices):
        HARD = "hard", _("Hard bounce (5.x.x)")
        SOFT = "soft", _("Soft bounce (4.x.x)")
        COMPLAINT = "complaint", _("Spam complaint (ARF)")

    email_hash = models.CharField(_("email hash"), max_length=64, db_index=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, blank=True,
                              help_text=_("RFC 3463 status, e.g. 5.1.1"))
    diagnostic = models.TextField(_("diagnostic"), blank=True)
    delivery_id = models.BigIntegerField(_("delivery id"), null=True, blank=True, db_index=True)
    source = models.CharField(pgettext_lazy("where it came from", "source"), max_length=16,
                              help_text=_("verp, message-id"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bounce event")
        verbose_name_plural = _("bounce events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["email_hash", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.email or self.email_hash[:12]} {self.status}"
