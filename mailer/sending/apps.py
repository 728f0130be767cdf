from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class SendingConfig(AppConfig):
    name = "mailer.sending"
    label = "sending"
    verbose_name = pgettext_lazy("admin section", "Sending")
