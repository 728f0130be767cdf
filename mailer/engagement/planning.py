"""Freezing a send's tracking at planning."""

from __future__ import annotations

from mailer.engagement.models import FrozenListMode
from mailer.engagement.modes import least_private
from mailer.sending.models import Send
from subscribers.models import MailingList


def tracking_freeze(send: Send) -> str:
    """Record every list's mode for the send and set the send's mode: the least private
    of its lists (a ceiling; each person then gets the most private mode of the lists
    they are on). Idempotent; returns the send's mode."""
    modes = dict(MailingList.objects.values_list("pk", "tracking_mode"))
    FrozenListMode.objects.bulk_create(
        [FrozenListMode(send_id=send.pk, mailing_list_id=pk, mode=m) for pk, m in modes.items()],
        ignore_conflicts=True)
    frozen = dict(FrozenListMode.objects.filter(send_id=send.pk)
                  .values_list("mailing_list_id", "mode"))
    mode = least_private(frozen.get(ml.pk, ml.tracking_mode) for ml in send.lists.all())
    Send.objects.filter(pk=send.pk).update(tracking_mode=mode)
    send.tracking_mode = mode
    return mode
