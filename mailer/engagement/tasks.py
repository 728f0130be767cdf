"""Celery tasks: thin wrappers around the intake flush and the retention step."""

from __future__ import annotations

from celery import shared_task

from mailer.engagement.intake import hits_flush_all
from mailer.engagement.retention import events_expire


@shared_task(name="mailer.engagement.tasks.hits_flush")
def hits_flush() -> int:
    return hits_flush_all()


@shared_task(name="mailer.engagement.tasks.events_expire")
def events_expire_task() -> int:
    return events_expire()
