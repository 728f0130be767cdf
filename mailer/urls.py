from django.contrib import admin
from django.urls import include, path, re_path

from mailer.core import views as core_views
from mailer.core.media import media_file

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("mailer.api.urls")),
    path("sink/", include("mailer.sink.urls")),
    re_path(r"^media/(?P<name>.+)$", media_file, name="media-file"),
    # Browsers ask for /favicon.ico whatever the page says (feed readers, PDFs, raw files).
    path("favicon.ico", core_views.favicon),
    path("", include("mailer.web.urls")),
    path("", include("mailer.issues.urls")),
    path("", include("subscribers.urls")),
    path("", include("mailer.engagement.urls")),
    path("", include("mailer.core.urls")),
]
