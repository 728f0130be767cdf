"""``/healthz``: is the database reachable, is the broker reachable, is a worker alive?

Answered by a middleware placed first, so a container healthcheck can ask over plain
http on any Host (``http://127.0.0.1:8000/healthz``) without meeting the https redirect
or ALLOWED_HOSTS. It names no host, user or password: only what is wrong.

Status 200 when the database and the broker answer; 503 when either does not. A stale
worker heartbeat is reported in the body and turns the status to 503 only with
``?require=worker`` (for a monitor: the web container stays healthy while workers are
being restarted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

HEALTH_PATH = "/healthz"


def health_database() -> dict[str, Any]:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return {"ok": False, "error": f"database unreachable ({type(exc).__name__})"}
    return {"ok": True}


def health_broker() -> dict[str, Any]:
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem") or url.startswith("memory"):
        return {"ok": True, "transport": url.split(":", 1)[0]}
    try:
        with Connection(url, connect_timeout=3,
                        transport_options={"socket_connect_timeout": 3, "socket_timeout": 3}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
    except Exception as exc:
        return {"ok": False, "error": f"broker unreachable ({type(exc).__name__})"}
    return {"ok": True, "transport": url.split(":", 1)[0]}


def health_workers() -> dict[str, Any]:
    from mailer.core.models import WorkerHeartbeat

    try:
        newest = WorkerHeartbeat.objects.order_by("-last_seen").first()
        stale_after = timedelta(seconds=settings.WORKER_STALE_SECONDS)
        alive = WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - stale_after).count()
    except Exception as exc:
        return {"ok": False, "error": f"heartbeats unreadable ({type(exc).__name__})"}
    if newest is None:
        return {"ok": False, "alive": 0, "error": "no worker has ever reported; start one "
                "(celery -A mailer worker)"}
    age = (timezone.now() - newest.last_seen).total_seconds()
    report: dict[str, Any] = {"ok": alive > 0, "alive": alive, "last_seen_seconds_ago": round(age)}
    if not alive:
        report["error"] = (f"no worker heartbeat for {round(age)} s; check that the workers "
                           "are running and can reach the database")
    return report


def health_report(require_worker: bool) -> tuple[int, dict[str, Any]]:
    checks = {"database": health_database(), "broker": health_broker(),
              "workers": health_workers()}
    needed = ["database", "broker", *(["workers"] if require_worker else [])]
    ok = all(checks[name]["ok"] for name in needed)
    return (200 if ok else 503), {"status": "ok" if ok else "fail", **checks}


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        status, report = health_report(require_worker=request.GET.get("require") == "worker")
        response = HttpResponse(json.dumps(report), status=status, content_type="application/json")
        response["Cache-Control"] = "no-store"
        return response
