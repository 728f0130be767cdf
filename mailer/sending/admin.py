"""Read-mostly admin for sends and the delivery ledger.

Status fields are read-only here: sends change status only through
``mailer.sending.state`` (the actions below call the control functions).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mailer.env import url_masked
from mailer.sending.control import send_cancel, send_pause, send_resume
from mailer.sending.models import Delivery, Route, Send, SendBatch
from mailer.sending.state import TransitionRefused


def _each(request: HttpRequest, queryset: QuerySet[Send], action: object, done: str) -> None:
    """``done`` is a translated message with an ``%(id)s`` placeholder for the send."""
    for send in queryset:
        try:
            action(send.pk)  # type: ignore[operator]
            messages.success(request, done % {"id": send.pk})
        except TransitionRefused as exc:
            messages.error(request, gettext("%(error)s; nothing was changed.") % {"error": exc})


@admin.action(description=_("Pause selected sends"))
def pause(modeladmin: admin.ModelAdmin, request: HttpRequest,
          queryset: QuerySet[Send]) -> None:
    _each(request, queryset, send_pause, gettext("Send %(id)s paused."))


@admin.action(description=_("Resume selected sends"))
def resume(modeladmin: admin.ModelAdmin, request: HttpRequest,
           queryset: QuerySet[Send]) -> None:
    _each(request, queryset, send_resume, gettext("Send %(id)s resumed."))


@admin.action(description=_("Cancel selected sends"))
def cancel(modeladmin: admin.ModelAdmin, request: HttpRequest,
           queryset: QuerySet[Send]) -> None:
    _each(request, queryset, send_cancel, gettext("Send %(id)s cancelled."))


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ("id", "issue", "status", "planned_count", "scheduled_at", "started_at",
                    "finished_at", "created_by")
    list_filter = ("status",)
    search_fields = ("issue__title", "issue__slug")
    readonly_fields = ("status", "status_reason", "planned_count", "started_at", "finished_at",
                       "created_at", "updated_at")
    filter_horizontal = ("lists", "excluded_lists")
    actions = [pause, resume, cancel]

    def get_readonly_fields(self, request: HttpRequest, obj: Send | None = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.locked:
            # Approved or under way: the audience an Admin approved cannot be swapped here.
            fields += ("issue", "lists", "excluded_lists", "segment", "smtp_route")
        return fields


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "send", "email", "status", "attempts", "smtp_code", "sent_at",
                    "possibly_duplicated")
    list_filter = ("status", "possibly_duplicated")
    search_fields = ("email", "message_id")
    raw_id_fields = ("send", "subscriber", "variant", "mailing_list")
    list_select_related = ("send",)
    show_full_result_count = False  # a ledger of millions must not COUNT(*) per page
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SendBatch)
class SendBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "send", "low_id", "high_id", "size", "status", "touched_at",
                    "enqueued_count")
    list_filter = ("status",)
    raw_id_fields = ("send",)


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    """SMTP routes: a send picks one in the wizard (or ``send_issue --route``); the model's
    ``clean`` refuses an unusable URL with the reason."""

    list_display = ("name", "url_shown", "password_env", "rate_per_second", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "description")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None
                   ) -> Route | None:
        # The change form must not show a password a legacy URL still holds; saving the
        # masked URL is refused by ``Route.clean`` until the Admin removes the "***".
        route = super().get_object(request, object_id, from_field)
        if route is not None:
            route.url = url_masked(route.url)
        return route

    @admin.display(description=_("SMTP URL"))
    def url_shown(self, obj: Route) -> str:
        # A route saved before the URL check may still hold a password: never show it.
        return url_masked(obj.url)

    def has_delete_permission(self, request: HttpRequest, obj: Route | None = None) -> bool:
        # Sends keep the route they went through (PROTECT): switch it off instead.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.sends.exists())
