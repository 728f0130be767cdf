"""Public tracking routes; ``mailer.engagement.personalise`` builds these URLs."""

from django.urls import path

from mailer.engagement import views

app_name = "engagement"

urlpatterns = [
    path("t/o/<str:token>.gif", views.open_pixel, name="open"),
    path("t/c/<str:token>/<int:link_id>/", views.click, name="click"),
]
