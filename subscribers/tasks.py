"""Celery tasks of the audience app: its own mails (confirmation, welcome, preferences).

Sent by a worker, not in the request: the subscribe page answers at the same speed
whether or not a mail goes out (its timing reveals nothing about the address), and a
relay that is down is retried instead of losing the mail.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from subscribers.mail import Sent, transactional_give_up, transactional_send

log = logging.getLogger(__name__)
MAIL_RETRIES = 5
MAIL_RETRY_BASE_SECONDS = 60


@shared_task(name="subscribers.tasks.transactional_mail", bind=True, max_retries=MAIL_RETRIES)
def transactional_mail(self: Task, mail_id: int) -> bool:
    """Send one recorded ``TransactionalMail``; retried with exponential backoff (1, 2, 4,
    8, 16 min) while the relay defers or is unreachable, never after a permanent refusal.
    True if it was sent."""
    outcome = transactional_send(mail_id)
    if outcome != Sent.DEFERRED:
        return outcome == Sent.SENT
    if self.request.retries >= MAIL_RETRIES:
        log.warning("transactional mail %s given up after %s attempts",
                    mail_id, self.request.retries + 1)
        transactional_give_up(mail_id, self.request.retries + 1)
        return False
    raise self.retry(countdown=MAIL_RETRY_BASE_SECONDS * 2 ** self.request.retries)
