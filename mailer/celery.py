"""The Celery app. Worker and beat read the same environment as the web app.

Settings follow DESIGN.md's send-pipeline invariants: tasks are acknowledged
late and re-delivered if a worker dies, each worker takes one task at a time,
results are ignored (progress is read from the database), and tasks carry ids.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailer.settings")

app = Celery("mailer")


def _broker_options(broker_url: str, broker_dir: Path) -> dict[str, object]:
    if broker_url.startswith("filesystem"):
        # kombu's file-system transport: one folder of message files, shared by
        # every process on this machine. The reconciler covers its weak crash semantics.
        for sub in ("queue", "processed", "control"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
        }
    # Redis re-delivers an unacknowledged task after this; our batches last seconds.
    return {"visibility_timeout": 3600}


def settings_or_exit() -> object:
    """Django settings, or one line naming the bad variable and exit 2 (as the CLI does)."""
    from django.conf import settings

    from mailer.env import ConfigError

    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching a setting loads them all
    except ConfigError as exc:
        print(f"newsletter: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings


@app.on_configure.connect
def configure(sender: Celery, **_: object) -> None:
    """Read Django settings only when Celery first needs its configuration."""
    settings: Any = settings_or_exit()

    sender.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options=_broker_options(settings.CELERY_BROKER_URL, settings.BROKER_DIR),
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        timezone=settings.TIME_ZONE,
        worker_hijack_root_logger=False,
        beat_schedule={
            "reconcile-sends": {
                "task": "mailer.sending.tasks.reconcile",
                "schedule": timedelta(seconds=settings.SEND_RECONCILE_SECONDS),
            },
            "engagement-flush": {
                "task": "mailer.engagement.tasks.hits_flush",
                "schedule": timedelta(seconds=settings.TRACKING_FLUSH_SECONDS),
            },
            "engagement-retention": {
                "task": "mailer.engagement.tasks.events_expire",
                "schedule": timedelta(hours=6),
            },
        },
        beat_schedule_filename=str(settings.VAR_DIR / "celerybeat-schedule"),
    )


app.autodiscover_tasks(["mailer.sending", "subscribers", "mailer.engagement"])

import mailer.core.heartbeat  # noqa: E402, F401 - connects the worker heartbeat signals
