from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class SinkConfig(AppConfig):
    name = "mailer.sink"
    label = "sink"
    verbose_name = pgettext_lazy("admin section", "Local SMTP sink")
