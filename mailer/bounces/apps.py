from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class BouncesConfig(AppConfig):
    name = "mailer.bounces"
    label = "bounces"
    verbose_name = pgettext_lazy("admin section", "Bounces and complaints")
