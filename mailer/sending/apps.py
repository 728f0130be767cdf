from django.apps import AppConfig


class SendingConfig(AppConfig):
    name = "mailer.sending"
    label = "sending"
    verbose_name = "Sending"
