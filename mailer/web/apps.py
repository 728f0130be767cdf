from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mailer.web"
    label = "web"
    verbose_name = "Staff web app"
