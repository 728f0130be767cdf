"""Public routes; the project includes them at the site root (``path("", include(...))``).

The sending code builds ``{SITE_URL}/u/<token>/`` and ``{SITE_URL}/p/<token>/``.
"""

from django.urls import path

from subscribers import views

app_name = "subscribers"

urlpatterns = [
    path("subscribe/<slug:slug>/", views.subscribe, name="subscribe"),
    # The form pasted into the organisation's website posts here (cross-site, no CSRF cookie).
    path("subscribe/<slug:slug>/embed/", views.subscribe_embedded, name="subscribe-embedded"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Without the slash too: APPEND_SLASH would answer a one-click POST with a redirect,
    # which RFC 8058 §3.2 forbids, if a client trims the URL.
    path("u/<str:token>", views.unsubscribe, name="unsubscribe-noslash"),
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("p/<str:token>/leave/", views.leave, name="leave"),
    path("p/<str:token>/data/", views.data_download, name="data"),
    path("p/<str:token>/erase/", views.erase, name="erase"),
]
