"""/healthz: database, broker and worker heartbeat, answered on any Host over plain http."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mailer.core.heartbeat import heartbeat_forget, heartbeat_record
from mailer.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def healthz(client: Client, query: str = "", **extra: Any) -> tuple[int, dict[str, Any]]:
    response = client.get(f"/healthz{query}", **extra)
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    return response.status_code, json.loads(response.content)


def test_it_answers_on_any_host_without_the_https_redirect(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["news.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    status, report = healthz(client, HTTP_HOST="10.0.0.5:8000")
    assert status == 200
    assert report["database"] == {"ok": True}


def test_it_fails_when_the_broker_is_unreachable(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    status, report = healthz(client)
    assert status == 503
    assert report["status"] == "fail"
    assert report["broker"] == {"ok": False, "error": "broker unreachable (OperationalError)"}


def test_it_checks_a_real_redis_broker(client: Client, settings: Any, redis_url: str) -> None:
    settings.CELERY_BROKER_URL = redis_url
    status, report = healthz(client)
    assert status == 200
    assert report["broker"] == {"ok": True, "transport": "redis"}


def test_a_missing_worker_is_reported_but_fails_only_when_required(client: Client) -> None:
    status, report = healthz(client)
    assert status == 200
    assert report["workers"]["ok"] is False
    assert "no worker has ever reported" in report["workers"]["error"]
    assert healthz(client, "?require=worker")[0] == 503


def test_a_recent_heartbeat_makes_the_workers_healthy(client: Client) -> None:
    heartbeat_record("celery@worker-1", timezone.now())
    status, report = healthz(client, "?require=worker")
    assert status == 200
    assert report["workers"]["alive"] == 1


def test_a_stale_heartbeat_says_how_long_ago_it_was(client: Client, settings: Any) -> None:
    heartbeat_record("celery@worker-1", timezone.now())
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(seconds=600))
    status, report = healthz(client, "?require=worker")
    assert status == 503
    assert report["workers"]["alive"] == 0
    assert report["workers"]["error"].startswith("no worker heartbeat for 600 s")


def test_a_worker_that_stops_cleanly_removes_its_heartbeat() -> None:
    heartbeat_record("celery@worker-1", timezone.now())
    heartbeat_forget("celery@worker-1")
    assert not WorkerHeartbeat.objects.exists()


def test_it_names_no_host_or_password(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://user:s3cret@127.0.0.1:1/0"
    body = client.get("/healthz").content.decode()
    assert "s3cret" not in body and "127.0.0.1" not in body
