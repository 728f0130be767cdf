"""The staff app's own records: role capabilities, API tokens, send approvals, media.

Business rules live in plain modules (``roles``, ``tokens``, ``approvals``, ``media``);
these models only hold the data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mailer.sending.models import Send


class Capability(models.Model):
    """Carrier of the app's custom permissions (no table).

    Views and the API check these with ``user.has_perm("web.<codename>")``; the roles
    migration grants them to the Admin, Comms staff and Viewer groups.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_reports", "View sends and their reports"),
            ("edit_issues", "Create and edit issues, upload images"),
            ("send_issues", "Test-send, send to existing lists and segments, pause and cancel"),
            ("approve_sends", "Approve large sends started by someone else"),
            ("manage_audience", "Lists, subscribers, imports, exports, segments, suppressions"),
            ("manage_settings", "Users, roles and sending settings"),
        ]

    def __str__(self) -> str:
        return "capability"


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 digest of the secret is stored;
    the token acts with its user's permissions, never more."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SendApproval(models.Model):
    """A second person's go-ahead for a send above ``SEND_APPROVAL_THRESHOLD`` recipients.

    The requester records the count they confirmed; an Admin other than the requester
    approves, after which the send may start."""

    send = models.OneToOneField(Send, on_delete=models.CASCADE, related_name="approval")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    recipient_count = models.PositiveIntegerField()
    start_now = models.BooleanField(default=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "approved" if self.approved_at else "waiting"
        return f"Approval of send #{self.send_id} ({state})"


class MediaAsset(models.Model):
    """An image uploaded for use in issues; ``file`` is served from MEDIA_URL."""

    file = models.FileField(upload_to="library/%Y/%m/")
    content_type = models.CharField(max_length=32)
    alt_text = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.file.name
