"""Worker liveness: the main process of every Celery worker records a heartbeat.

It runs in a daemon thread of the worker's main process (not in the pool's children),
so a worker whose children are all busy sending still reports, and a worker that is
killed stops reporting at once. ``/healthz`` and the README's monitoring advice read it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from celery.signals import worker_ready, worker_shutdown

log = logging.getLogger(__name__)
_stop = threading.Event()


def heartbeat_record(hostname: str, started_at: datetime) -> None:
    from django.utils import timezone

    from mailer.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"pid": os.getpid(), "started_at": started_at, "last_seen": timezone.now()},
    )


def heartbeat_forget(hostname: str) -> None:
    from mailer.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def _beat_forever(hostname: str, interval: float) -> None:
    from django.db import close_old_connections, connection
    from django.utils import timezone

    started_at = timezone.now()
    while not _stop.is_set():
        try:
            close_old_connections()
            heartbeat_record(hostname, started_at)
        except Exception as exc:  # the database is away: say so, try again next beat
            log.warning("worker heartbeat not recorded (%s: %s); retrying in %ss",
                        type(exc).__name__, exc, interval)
        _stop.wait(interval)
    connection.close()


def worker_hostname(sender: object) -> str:
    return str(getattr(sender, "hostname", "") or f"celery@{socket.gethostname()}")


@worker_ready.connect
def heartbeat_start(sender: object = None, **_: object) -> None:
    from django.conf import settings

    _stop.clear()
    thread = threading.Thread(target=_beat_forever, name="worker-heartbeat", daemon=True,
                              args=(worker_hostname(sender), settings.WORKER_HEARTBEAT_SECONDS))
    thread.start()


@worker_shutdown.connect
def heartbeat_stop(sender: object = None, **_: object) -> None:
    _stop.set()
    try:
        heartbeat_forget(worker_hostname(sender))
    except Exception as exc:  # shutting down with the database away: the row just ages
        log.warning("worker heartbeat not removed at shutdown (%s)", type(exc).__name__)
