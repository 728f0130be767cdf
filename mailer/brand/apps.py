from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrandConfig(AppConfig):
    name = "mailer.brand"
    label = "brand"
    verbose_name = _("Brand")
    default_auto_field = "django.db.models.BigAutoField"
