"""The one brand settings row. Rules (validation, what a change invalidates) live in
``mailer.brand.services``; this model only holds the data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_PRIMARY = "#0033a0"
DEFAULT_ACCENT = "#418fde"
BRAND_PK = 1


class Brand(models.Model):
    """Singleton (``pk == 1``). Until an Admin saves it, ``brand_current()`` returns an
    unsaved instance with these defaults, which reproduce the look from before brands."""

    name_en = models.CharField(_("organisation name (English)"), max_length=120, blank=True)
    name_ru = models.CharField(_("organisation name (Russian)"), max_length=120, blank=True)
    logo = models.FileField(_("logo"), upload_to="brand/", blank=True)
    logo_width = models.PositiveIntegerField(_("logo width"), null=True, blank=True)
    logo_height = models.PositiveIntegerField(_("logo height"), null=True, blank=True)
    primary_colour = models.CharField(_("primary colour"), max_length=7, default=DEFAULT_PRIMARY)
    accent_colour = models.CharField(_("accent colour"), max_length=7, default=DEFAULT_ACCENT)
    postal_address = models.TextField(_("postal address"), blank=True)
    social_links = models.JSONField(_("social links"), default=list, blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brand")
        constraints = [models.CheckConstraint(condition=models.Q(pk=BRAND_PK),
                                              name="brand_is_a_single_row")]

    def __str__(self) -> str:
        return str(_("Brand"))
