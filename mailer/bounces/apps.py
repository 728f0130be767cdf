from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "mailer.bounces"
    label = "bounces"
    verbose_name = "Bounces and complaints"
