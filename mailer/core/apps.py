from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mailer.core"
    label = "core"
    verbose_name = "Newsletter service"
