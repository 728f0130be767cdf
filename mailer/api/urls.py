from django.urls import path

from mailer.api.api import api

urlpatterns = [path("", api.urls)]
