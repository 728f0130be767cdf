from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from mailer.core import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("mailer.api.urls")),
    path("sink/", include("mailer.sink.urls")),
    path("healthz", core_views.health, name="health"),
    path("", include("mailer.web.urls")),
    path("", include("mailer.issues.urls")),
    path("", include("subscribers.urls")),
    path("", include("mailer.core.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
