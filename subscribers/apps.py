from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    label = "subscribers"
    verbose_name = "Audience"
