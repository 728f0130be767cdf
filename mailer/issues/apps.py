from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class IssuesConfig(AppConfig):
    name = "mailer.issues"
    label = "issues"
    verbose_name = pgettext_lazy("admin section", "Issues")
