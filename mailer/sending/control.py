"""Staff controls of a running send: pause, resume, cancel, retry the failed rows.

Workers look at the send's status about once a second while they send, so a pause or
cancel takes effect within about a second: the message on the wire finishes, and the
rows a worker still holds are handed back (skipped, for a cancelled send).
"""

from __future__ import annotations

from django.db import transaction

from mailer.sending.delivery import delivery_failed_reopen, delivery_skip_unclaimed
from mailer.sending.models import Send, SendBatch
from mailer.sending.reconcile import send_resume_batches
from mailer.sending.state import send_transition_or_raise

S = Send.Status


def send_pause(send_id: int, *, by: str = "staff") -> None:
    send_transition_or_raise(send_id, S.PAUSED, reason=f"paused by {by}")


def send_resume(send_id: int) -> int:
    """Resume a paused send; returns how many batches were queued again."""
    with transaction.atomic():
        send_transition_or_raise(send_id, S.SENDING)
        return send_resume_batches(send_id)


def send_cancel(send_id: int, *, by: str = "staff") -> int:
    """Cancel for good; returns how many recipients will not get the issue.

    Rows nobody holds become ``skipped`` (the ledger says who did not get the issue
    and why); rows a worker has claimed finish with their real outcome, and no
    worker claims a row of a cancelled send."""
    with transaction.atomic():
        send_transition_or_raise(send_id, S.CANCELLED, reason=f"cancelled by {by}")
        return delivery_skip_unclaimed(send_id)


def send_retry_failed(send_id: int) -> int:
    """Give rows that failed (not bounced) another full set of attempts and reopen
    the send. Returns how many rows will be retried."""
    with transaction.atomic():
        count = delivery_failed_reopen(send_id)
        if not count:
            return 0
        status = Send.objects.filter(pk=send_id).values_list("status", flat=True).get()
        if status in (S.DONE, S.PAUSED):
            send_transition_or_raise(send_id, S.SENDING, reason="retrying failed deliveries")
        SendBatch.objects.filter(send_id=send_id).update(status=SendBatch.Status.WAITING)
        send_resume_batches(send_id)
    return count
