import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailer.settings")

from mailer.celery import settings_or_exit

settings_or_exit()  # a bad variable: one line naming it and exit 2, not a traceback per worker

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
