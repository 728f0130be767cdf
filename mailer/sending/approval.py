"""The one gate every start of a send passes: start it now, schedule it, or hold it for a
second person's approval (``SEND_APPROVAL_THRESHOLD``).

The staff app, the API and ``send_issue`` all call :func:`send_go`; the reconciler calls
:func:`send_start_due` when a scheduled send's time comes, which counts the audience again
(issue 10: a send scheduled for one person must not go to thousands unapproved). Once a
send has left draft, or waits for approval, what it sends and to whom is locked
(``Send.locked``), so the count an Admin approved stays the count of the same audience.

The approval record itself (``SendApproval``) belongs to the staff app's models; this
module is the only place that creates or settles it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailer.sending.models import Send
from mailer.sending.planning import PlanResult, audience_queryset, send_schedule, send_start

log = logging.getLogger(__name__)
S = Send.Status
AWAITING_APPROVAL = "approval"  # send_go's answer when an Admin must approve first


class SendRefused(Exception):
    """The send cannot go as asked; the message says why and what to do."""


def approval_threshold() -> int:
    """Sends to more recipients than this need a second Admin's approval; 0 turns it off."""
    return int(settings.SEND_APPROVAL_THRESHOLD)


def needs_approval(send: Send, recipients: int) -> bool:
    """True if ``recipients`` is above the threshold and no Admin has approved the send for
    at least that many (an approval covers the count it was given for, not a grown one)."""
    from mailer.web.models import SendApproval

    threshold = approval_threshold()
    if not threshold or recipients <= threshold:
        return False
    return not SendApproval.objects.filter(send=send, approved_at__isnull=False,
                                           recipient_count__gte=recipients).exists()


def send_go(send: Send, *, user: Any, recipients: int) -> str:
    """The requester confirmed ``recipients``: hold the send for approval if it is above
    the threshold, else start it now or schedule it. Returns ``AWAITING_APPROVAL`` or the
    new status. Raises ``SendRefused`` if it is no longer a draft, ``PlanError`` if
    planning fails. ``user`` is None for the command line (any Admin may approve)."""
    if needs_approval(send, recipients):
        _approval_request(send, requested_by_id=getattr(user, "pk", None), recipients=recipients)
        return AWAITING_APPROVAL
    if send.scheduled_at and send.scheduled_at > timezone.now():
        if not send_schedule(send.pk):
            raise SendRefused(_("This send is no longer a draft; it was started or cancelled."))
        return S.SCHEDULED
    if send_start(send.pk) is None:
        raise SendRefused(_("This send is no longer a draft; it was started or cancelled."))
    return Send.objects.values_list("status", flat=True).get(pk=send.pk)


def send_approve(send: Send, *, user: Any) -> str:
    """A second person (an Admin, not the requester) approves; the send then goes (or, if
    it was held at its scheduled time, starts now). Returns the new status."""
    from mailer.web.models import SendApproval

    with transaction.atomic():
        approval = SendApproval.objects.select_for_update().filter(send=send).first()
        if approval is None or approval.approved_at is not None:
            raise SendRefused(_("This send is not waiting for approval."))
        if approval.requested_by_id is not None and approval.requested_by_id == user.pk:
            raise SendRefused(_("You asked for this send; another Admin must approve it."))
        approval.approved_by, approval.approved_at = user, timezone.now()
        approval.save(update_fields=["approved_by", "approved_at"])
    send.refresh_from_db()
    if send.status == S.SCHEDULED and send.scheduled_at and send.scheduled_at <= timezone.now():
        send_start(send.pk)
        return Send.objects.values_list("status", flat=True).get(pk=send.pk)
    return send_go(send, user=user, recipients=approval.recipient_count)


def awaiting_approval(send: Send) -> Any:
    """The send's open ``SendApproval``, or None."""
    from mailer.web.models import SendApproval

    return SendApproval.objects.filter(send=send, approved_at__isnull=True).first()


def _approval_request(send: Send, *, requested_by_id: int | None, recipients: int) -> None:
    """Ask for approval of ``recipients``. One approval per send: an approval given for
    fewer recipients is withdrawn and asked again on the same record."""
    from mailer.web.models import SendApproval

    SendApproval.objects.update_or_create(
        send=send, defaults={"recipient_count": recipients, "approved_by": None,
                             "approved_at": None},
        create_defaults={"requested_by_id": requested_by_id, "recipient_count": recipients})


def send_start_due(send_id: int) -> PlanResult | None:
    """Start a scheduled send whose time has come, unless its audience is now above the
    threshold without an approval: then it stays scheduled, an approval is requested in the
    name of its creator, and its status reason says so. Returns None if it did not start."""
    from mailer.web.models import SendApproval

    send = Send.objects.filter(pk=send_id, status=S.SCHEDULED).first()
    if send is None or awaiting_approval(send) is not None:
        return None  # started elsewhere, or already held (the reason says so)
    recipients = audience_queryset(send).count()
    if needs_approval(send, recipients):
        earlier = SendApproval.objects.filter(send=send).first()
        approved_for = f" (approved for {earlier.recipient_count})" if earlier else ""
        _approval_request(send, requested_by_id=send.created_by_id, recipients=recipients)
        reason = (f"waiting for approval: {recipients} recipients at the scheduled time"
                  f"{approved_for} is above SEND_APPROVAL_THRESHOLD={approval_threshold()}; an "
                  "Admin other than the requester approves it on the send's page, and it "
                  "starts then")
        Send.objects.filter(pk=send_id, status=S.SCHEDULED).update(status_reason=reason)
        log.warning("scheduled send %s held: %s", send_id, reason)
        return None
    return send_start(send_id)
