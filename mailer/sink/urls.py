from django.urls import path

from mailer.sink import views

app_name = "sink"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<str:key>/", views.message_detail, name="message"),
    path("<str:key>/html", views.message_html, name="message-html"),
    path("<str:key>/raw", views.message_raw, name="message-raw"),
]
