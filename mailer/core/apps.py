from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class CoreConfig(AppConfig):
    name = "mailer.core"
    label = "core"
    verbose_name = pgettext_lazy("admin section", "Newsletter service")
