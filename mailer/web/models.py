"""The staff app's own records: role capabilities, API tokens, send approvals, media.

Business rules live in plain modules (``roles``, ``tokens``, ``approvals``, ``media``);
these models only hold the data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailer.sending.models import Send


class Capability(models.Model):
    """Carrier of the app's custom permissions (no table).

    Views and the API check these with ``user.has_perm("web.<codename>")``; the roles
    migration grants them to the Admin, Comms staff and Viewer groups.
    """

    class Meta:
        verbose_name = _("capability")
        verbose_name_plural = _("capabilities")
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
                             related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(pgettext_lazy("title of a thing", "name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12,
                              help_text=_("First characters, to recognise a token"))
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SendApproval(models.Model):
    """A second person's go-ahead for a send above ``SEND_APPROVAL_THRESHOLD`` recipients.

    The requester records the count they confirmed; an Admin other than the requester
    approves, after which the send may start."""

    send = models.OneToOneField(Send, on_delete=models.CASCADE, related_name="approval",
                                verbose_name=_("send"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    recipient_count = models.PositiveIntegerField(_("recipient count"))
    start_now = models.BooleanField(_("start now"), default=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("send approval")
        verbose_name_plural = _("send approvals")

    def __str__(self) -> str:
        state = "approved" if self.approved_at else "waiting"
        return f"Approval of send #{self.send_id} ({state})"


class MediaAsset(models.Model):
    """An image uploaded for use in issues; ``file`` is served from MEDIA_URL."""

    file = models.FileField(_("file"), upload_to="library/%Y/%m/")
    content_type = models.CharField(_("content type"), max_length=32)
    alt_text = models.CharField(_("alt text"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("media asset")
        verbose_name_plural = _("media assets")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.file.name
