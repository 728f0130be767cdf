from django.apps import AppConfig


class SinkConfig(AppConfig):
    name = "mailer.sink"
    label = "sink"
    verbose_name = "Local SMTP sink"
