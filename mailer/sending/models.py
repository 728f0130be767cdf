"""Sends and the per-recipient delivery ledger.

Status fields change only through ``mailer.sending.state`` (Send) and the
claim/record functions in ``mailer.sending.delivery`` (Delivery).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mailer.issues.models import Issue, IssueVariant
from subscribers.models import MailingList, Segment, Subscriber


class Send(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PLANNING = "planning", "Planning"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="sends")
    lists = models.ManyToManyField(MailingList, related_name="sends")
    excluded_lists = models.ManyToManyField(MailingList, related_name="excluded_from_sends",
                                            blank=True)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    planned_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Send #{self.pk} of {self.issue} ({self.status})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed)"
        RETRYING = "retrying", "Waiting to retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        SKIPPED = "skipped", "Skipped"

    # Every index here is written twice per message (claim, outcome), so the ledger
    # keeps only the ones a hot query or a delete needs: ``send`` is served by the
    # unique (send, subscriber) index, variant/list lookups are rare admin deletes.
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="deliveries",
                             db_index=False)
    subscriber = models.ForeignKey(Subscriber, null=True, on_delete=models.SET_NULL,
                                   related_name="deliveries")
    email = models.CharField(max_length=254)
    variant = models.ForeignKey(IssueVariant, on_delete=models.PROTECT, db_index=False)
    # The list this recipient is mailed through (lowest id of their confirmed lists in
    # the send): names the List-Id and the list the one-click unsubscribe leaves.
    mailing_list = models.ForeignKey(MailingList, null=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_reply = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    possibly_duplicated = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "subscriber"], name="one_delivery_per_recipient"),
        ]
        indexes = [
            # Only unfinished rows: the claim query's index stays small, and a row that
            # becomes sent/failed/bounced/skipped adds no entry to it.
            models.Index(fields=["send", "id"], name="delivery_unfinished",
                         condition=models.Q(status__in=["pending", "sending", "retrying"])),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class SendBatch(models.Model):
    """A range of Delivery ids handed to one Celery task.

    The rows are the truth; a batch only records when its task was last enqueued
    or seen working, so the reconciler can re-enqueue a task that Redis or a dead
    worker lost without flooding the queue with copies of live ones.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for retries"
        DONE = "done", "Done"

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="batches")
    low_id = models.BigIntegerField()
    high_id = models.BigIntegerField()
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(null=True, blank=True)
    touched_at = models.DateTimeField(null=True, blank=True)
    enqueued_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "low_id"], name="one_batch_per_range_start"),
        ]
        indexes = [models.Index(fields=["status", "touched_at"])]

    def __str__(self) -> str:
        return f"Send #{self.send_id} ids {self.low_id}..{self.high_id} ({self.status})"
