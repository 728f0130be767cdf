"""Admin pages for the staff app's own records. Tokens are made on the account page (the
secret is shown once); here admins can see and revoke them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailer.web.models import ApiToken, MediaAsset, SendApproval


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the secret must be shown to its owner once: use the account page

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(SendApproval)
class SendApprovalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["send", "recipient_count", "requested_by", "requested_at", "approved_by",
                    "approved_at"]
    readonly_fields = ["send", "recipient_count", "requested_by", "requested_at", "approved_by",
                       "approved_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # approvals are given on the send's page, where the count is shown


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Sent emails point at an image's URL for years: once uploaded, its file can be
    neither replaced nor renamed here, and deleting the library entry keeps the file
    (Django never deletes a FileField's file), so every sent issue still shows it.
    New images are uploaded in the staff app's media library."""

    list_display = ["file", "alt_text", "content_type", "uploaded_by", "uploaded_at"]
    search_fields = ["file", "alt_text"]
    readonly_fields = ["file", "content_type", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads go through the media library, which checks the content
