"""Celery tasks of the audience app: the double opt-in confirmation mail.

Sent by a worker, not in the request: the subscribe page answers at the same speed
whether or not a mail goes out (its timing reveals nothing about the address), and a
relay that is down is retried instead of losing the confirmation.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from subscribers.mail import Sent, confirmation_send, preferences_link_send
from subscribers.models import Subscription

log = logging.getLogger(__name__)
CONFIRMATION_RETRIES = 5
CONFIRMATION_RETRY_BASE_SECONDS = 60


@shared_task(name="subscribers.tasks.confirmation_mail", bind=True,
             max_retries=CONFIRMATION_RETRIES)
def confirmation_mail(self: Task, subscription_id: int) -> bool:
    """Mail the confirmation link if the subscription still waits for it; retried with
    exponential backoff (1, 2, 4, 8, 16 min) while the relay defers or is unreachable,
    never after a permanent refusal."""
    pending = Subscription.objects.filter(pk=subscription_id,
                                          status=Subscription.Status.UNCONFIRMED).exists()
    if not pending:
        return False  # confirmed meanwhile, unsubscribed, or the person was erased
    outcome = confirmation_send(subscription_id)
    if outcome == Sent.SENT:
        return True
    if outcome == Sent.REFUSED:
        return False  # a permanent refusal: the same message would be refused again
    if self.request.retries >= CONFIRMATION_RETRIES:
        log.warning("confirmation mail for subscription %s given up after %s attempts",
                    subscription_id, self.request.retries + 1)
        return False
    raise self.retry(countdown=CONFIRMATION_RETRY_BASE_SECONDS * 2 ** self.request.retries)


@shared_task(name="subscribers.tasks.preferences_link_mail", bind=True, max_retries=3)
def preferences_link_mail(self: Task, subscriber_id: int) -> bool:
    """Mail a fresh preferences link to the person's own address; retried like confirmations
    while the relay defers, never after a permanent refusal."""
    outcome = preferences_link_send(subscriber_id)
    if outcome != Sent.DEFERRED:
        return outcome == Sent.SENT
    if self.request.retries >= 3:
        return False
    raise self.retry(countdown=CONFIRMATION_RETRY_BASE_SECONDS * 2 ** self.request.retries)
