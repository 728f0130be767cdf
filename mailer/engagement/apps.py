from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class EngagementConfig(AppConfig):
    name = "mailer.engagement"
    label = "engagement"
    verbose_name = pgettext_lazy("admin section", "Engagement")
    default_auto_field = "django.db.models.BigAutoField"
