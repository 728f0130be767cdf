"""The brand in the Django admin: one row, edited in place, saved through ``brand_save``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import ngettext

from mailer.brand.forms import BrandForm
from mailer.brand.models import BRAND_PK, Brand
from mailer.brand.services import brand_save, brand_warnings


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    form = BrandForm
    fields = ["name_en", "name_ru", "logo", "remove_logo", "primary_colour", "accent_colour",
              "postal_address", "social_links", "reply_to", "revision", "updated_at", "updated_by"]
    readonly_fields = ["revision", "updated_at", "updated_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Only the first save adds the one row; after that it is edited in place.
        return super().has_add_permission(request) and not Brand.objects.filter(pk=BRAND_PK).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if Brand.objects.filter(pk=BRAND_PK).exists():
            return HttpResponseRedirect(reverse("admin:brand_brand_change", args=[BRAND_PK]))
        return HttpResponseRedirect(reverse("admin:brand_brand_add"))

    def save_model(self, request: Any, obj: Brand, form: Any, change: bool) -> None:
        stale = brand_save(obj, user=request.user)
        for warning in brand_warnings(obj):
            messages.warning(request, warning)
        if stale:
            messages.info(request, ngettext(
                "%(n)d compiled email will be rendered again with the new brand.",
                "%(n)d compiled emails will be rendered again with the new brand.",
                stale) % {"n": stale})
