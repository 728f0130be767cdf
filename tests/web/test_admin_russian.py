"""The Django admin speaks Russian for our own models: model names, choices labels shown in
list columns and filters, and action names. With the English UI the labels stay English."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from subscribers.models import Subscriber
from tests.web.personas import PASSWORD, signed_in


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("sasha", "sasha@staff.example.org", PASSWORD)


@pytest.fixture
def superuser_client(superuser: User) -> Client:
    return signed_in(superuser)


@pytest.fixture
def sent_delivery(issue: Issue, audience: dict[str, Subscriber]) -> Delivery:
    send = Send.objects.create(issue=issue, status=Send.Status.FAILED)
    ana = audience["ana"]
    return Delivery.objects.create(send=send, subscriber=ana, email=ana.email,
                                   variant=issue.variants.get(language="en"),
                                   status=Delivery.Status.SENT)


def page(client: Client, url_name: str, language: str) -> str:
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_subscribers_changelist_names_the_model_in_russian(
        superuser_client: Client, audience: dict[str, Subscriber]) -> None:
    html = page(superuser_client, "admin:subscribers_subscriber_changelist", "ru")
    assert "<h1>Выберите подписчик для изменения</h1>" in html
    assert "Подписчики" in html  # breadcrumbs and the app index


def test_subscribers_changelist_filters_by_status_in_russian(
        superuser_client: Client, audience: dict[str, Subscriber]) -> None:
    html = page(superuser_client, "admin:subscribers_subscriber_changelist", "ru")
    assert "Подтверждена" in html  # Subscription.Status.CONFIRMED in the filter
    assert "Не подтверждена" in html
    assert "Активен" in html  # Subscriber.Status.ACTIVE in the filter and the column


def test_subscribers_actions_are_named_in_russian(
        superuser_client: Client, audience: dict[str, Subscriber]) -> None:
    html = page(superuser_client, "admin:subscribers_subscriber_changelist", "ru")
    assert "Заблокировать адрес (больше не писать)" in html
    assert "Suppress (never mail again)" not in html


def test_deliveries_changelist_shows_the_delivery_status_in_russian(
        superuser_client: Client, sent_delivery: Delivery) -> None:
    html = page(superuser_client, "admin:sending_delivery_changelist", "ru")
    assert '<td class="field-status">Отправлено</td>' in html
    assert "Доставки" in html


def test_sends_changelist_shows_a_failed_send_as_a_failure_in_russian(
        superuser_client: Client, sent_delivery: Delivery) -> None:
    html = page(superuser_client, "admin:sending_send_changelist", "ru")
    assert '<td class="field-status">Сбой</td>' in html


def test_suppressions_changelist_shows_the_reason_in_russian(
        superuser_client: Client, audience: dict[str, Subscriber]) -> None:
    html = page(superuser_client, "admin:subscribers_suppression_changelist", "ru")
    assert '<td class="field-reason">Постоянная недоставка (hard bounce)</td>' in html
    assert "Жалоба на спам" in html  # another reason, offered by the filter


@pytest.mark.parametrize(("url_name", "english"), [
    ("admin:subscribers_subscriber_changelist", "Subscribers"),
    ("admin:subscribers_subscriber_changelist", "Confirmed"),
    ("admin:sending_delivery_changelist", '<td class="field-status">Sent</td>'),
    ("admin:sending_send_changelist", '<td class="field-status">Failed</td>'),
    ("admin:subscribers_suppression_changelist", '<td class="field-reason">Hard bounce</td>'),
])
def test_english_ui_keeps_the_english_labels(superuser_client: Client, sent_delivery: Delivery,
                                             url_name: str, english: str) -> None:
    assert english in page(superuser_client, url_name, "en")


def test_the_admin_index_names_its_sections_in_russian(superuser_client: Client) -> None:
    html = page(superuser_client, "admin:index", "ru")
    for section in ("Аудитория", "Выпуски", "Рассылки", "Рабочее приложение сотрудников"):
        assert f'class="section" title="Модели в приложении {section}">{section}</a>' in html
    assert ">Sending<" not in html and ">Staff web app<" not in html


def test_the_csv_import_page_speaks_russian(superuser_client: Client) -> None:
    html = page(superuser_client, "admin:subscribers_subscriber_import", "ru")
    assert "Импорт подписчиков из CSV" in html
    assert "ничего не записывается, пока вы не нажмёте" in html


def test_the_segment_editor_explains_its_rules_in_russian(superuser_client: Client) -> None:
    html = page(superuser_client, "admin:subscribers_segment_add", "ru")
    assert "Подсчёт на лету" in html and "Операторы:" in html
    assert "В правиле ошибка." in html  # the message the live check shows


def test_smtp_routes_are_managed_in_russian(superuser_client: Client) -> None:
    html = page(superuser_client, "admin:sending_route_add", "ru")
    assert "SMTP-маршрут" in html and "переменная с паролем" in html.lower()
