"""The staff app. Every view is wrapped in ``capability_required`` (or login_required for a
user's own tokens); ``tests/web/test_web_roles.py`` walks this list as each role."""

from django.urls import include, path

from mailer.web.views import account, audience, brand, issues, reports, sends

app_name = "web"
urlpatterns = [
    path("", account.home, name="home"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.logout, name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/tokens/", account.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", account.token_delete, name="token-revoke"),
    path("issues/", issues.issue_list, name="issues"),
    path("issues/new/", issues.issue_new, name="issue-new"),
    path("issues/<int:pk>/edit/", issues.issue_edit, name="issue-edit"),
    path("issues/<int:pk>/copy/", issues.issue_copy, name="issue-copy"),
    path("issues/<int:pk>/render/", issues.issue_render, name="issue-render"),
    path("issues/<int:pk>/test-send/", issues.issue_test_send, name="issue-test-send"),
    path("issues/<int:pk>/send/", sends.send_new, name="send-new"),
    path("issues/<int:pk>/sends/", reports.issue_sends, name="issue-sends"),
    path("library/", issues.media_library, name="media"),
    path("sends/", reports.send_list, name="sends"),
    path("sends/<int:pk>/", sends.send_detail, name="send-detail"),
    path("sends/<int:pk>/confirm/", sends.send_confirm, name="send-confirm"),
    path("sends/<int:pk>/discard/", sends.send_discard, name="send-discard"),
    path("sends/<int:pk>/status/", sends.send_status, name="send-status"),
    path("sends/<int:pk>/approve/", sends.send_approve, name="send-approve"),
    path("sends/<int:pk>/pause/", sends.send_control, {"action": "pause"}, name="send-pause"),
    path("sends/<int:pk>/resume/", sends.send_control, {"action": "resume"}, name="send-resume"),
    path("sends/<int:pk>/cancel/", sends.send_control, {"action": "cancel"}, name="send-cancel"),
    path("sends/<int:pk>/report/", reports.send_report, name="send-report"),
    path("sends/<int:pk>/report.csv", reports.send_report_csv, name="send-report-csv"),
    path("sends/<int:pk>/engagement.csv", reports.send_engagement_csv,
         name="send-engagement-csv"),
    path("audience/import/", audience.subscribers_import, name="import"),
    path("audience/forms/", brand.signup_forms, name="signup-forms"),
    path("audience/forms/<int:pk>/", brand.signup_form, name="signup-form"),
    path("settings/brand/", brand.brand_edit, name="brand"),
]
