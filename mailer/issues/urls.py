from django.urls import path

from mailer.issues import views

app_name = "issues"

urlpatterns = [
    path("issues/<int:issue_id>/preview/", views.issue_preview, name="preview"),
    path("issues/<int:issue_id>/preview/<str:language>/frame/", views.issue_preview_frame,
         name="preview-frame"),
    path("archive/", views.archive_index, name="archive"),
    path("archive/feed/", views.archive_feed_view, name="archive-feed"),
    path("archive/<slug:slug>/<str:language>/", views.archive_issue, name="archive-issue"),
    path("archive/<slug:slug>/<str:language>/email/", views.archive_issue_email,
         name="archive-issue-email"),
]
