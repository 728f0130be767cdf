from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "mailer.issues"
    label = "issues"
    verbose_name = "Issues"
