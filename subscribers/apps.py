from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class SubscribersConfig(AppConfig):
    name = "subscribers"
    label = "subscribers"
    verbose_name = pgettext_lazy("admin section", "Audience")
