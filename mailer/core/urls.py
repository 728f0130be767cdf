from django.urls import path

from mailer.core import views

urlpatterns = [
    path("", views.home, name="home"),
]
