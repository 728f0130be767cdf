"""URLconf for these tests: the issues app at the site root, as the lead will include it."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("mailer.issues.urls")),
]
