"""Every bounce and complaint we accepted, kept so soft bounces can be counted."""

from __future__ import annotations

from django.db import models


class BounceEvent(models.Model):
    class Kind(models.TextChoices):
        HARD = "hard", "Hard bounce (5.x.x)"
        SOFT = "soft", "Soft bounce (4.x.x)"
        COMPLAINT = "complaint", "Spam complaint (ARF)"

    email_hash = models.CharField(max_length=64, db_index=True)
    email = models.CharField(max_length=254, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, blank=True, help_text="RFC 3463 status, e.g. 5.1.1")
    diagnostic = models.TextField(blank=True)
    delivery_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    source = models.CharField(max_length=16, help_text="verp, message-id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["email_hash", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.email or self.email_hash[:12]} {self.status}"
