from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import pgettext_lazy


class WebConfig(AppConfig):
    name = "mailer.web"
    label = "web"
    verbose_name = pgettext_lazy("admin section", "Staff web app")

    def ready(self) -> None:
        from mailer.web.roles import roles_sync

        # After the whole migrate run (this app is last in INSTALLED_APPS), when every
        # app's permissions exist.
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="web-roles-sync")
