"""Acting on bounces and complaints: suppress, unsubscribe, count — only when they are ours.

Anyone can send a message to the bounce address naming any recipient, so a
report changes nothing unless it proves which delivery it is about: the signed
VERP envelope recipient (``bounces+<delivery>-<sig>@BOUNCE_DOMAIN``), or the
signed ``Message-ID`` / VERP ``Return-Path`` of the original message that
the report returns. The proven delivery's address is the one acted upon.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailer.bounces.models import BounceEvent
from mailer.bounces.parsing import Failure, Report, report_parse
from mailer.sending.delivery import delivery_bounced_after_sent
from mailer.sending.mime import message_id_for
from mailer.sending.models import Delivery
from mailer.sending.verp import unsubscribe_address_read, verp_read
from subscribers.models import Subscription, Suppression, email_hash
from subscribers.services import subscription_set, suppression_add, unsubscribe, unsubscribe_scope

MESSAGE_ID = re.compile(r"^<?(\d+)\.(\d+)\.[0-9a-f]+@([^>]+)>?$")
KIND_RANK = {"complaint": 3, "hard": 2, "soft": 1}


@dataclass(frozen=True)
class Outcome:
    """What one message did: ``action`` is suppressed | counted | unsubscribed | ignored."""

    action: str
    kind: str = ""
    email: str = ""
    delivery_id: int | None = None
    reason: str = ""


def inbound_process(raw: bytes, envelope_recipients: Sequence[str] = ()) -> Outcome:
    """One message that reached the bounce domain: a mail unsubscribe (sent to the
    signed ``mailto:`` of List-Unsubscribe) or a bounce / complaint."""
    return mail_unsubscribe(envelope_recipients) or bounce_process(raw, envelope_recipients)


def mail_unsubscribe(envelope_recipients: Sequence[str]) -> Outcome | None:
    """Act on a message to ``unsubscribe+<delivery>-<sig>@BOUNCE_DOMAIN`` exactly as on the
    one-click link of the same email: leave the list it came through and every other
    list of that send. Whatever the message says; None if no recipient is such an
    address (a forged or altered one is not)."""
    for address in envelope_recipients:
        delivery_id = unsubscribe_address_read(address)
        if delivery_id is None:
            continue
        delivery = (Delivery.objects.select_related("subscriber", "mailing_list")
                    .filter(pk=delivery_id).first())
        if delivery is None or delivery.subscriber is None:
            return Outcome("ignored", delivery_id=delivery_id,
                           reason="the person was erased or the send deleted")
        if delivery.mailing_list is None:
            return Outcome("ignored", email=delivery.email, delivery_id=delivery_id,
                           reason="the list this email came through no longer exists")
        subscriber = delivery.subscriber
        with transaction.atomic():
            for target in unsubscribe_scope(subscriber, delivery.mailing_list, delivery.send_id):
                unsubscribe(subscriber, target, actor="subscriber:mailto",
                            source="list-unsubscribe mailto")
        return Outcome("unsubscribed", email=subscriber.email, delivery_id=delivery_id)
    return None


def bounce_process(raw: bytes, envelope_recipients: Sequence[str] = ()) -> Outcome:
    report = report_parse(raw)
    if report.is_empty:
        return Outcome("ignored", reason="not a bounce or complaint (e.g. an auto-reply)")
    delivery, source = _delivery_proven(report, envelope_recipients)
    if delivery is None:
        return Outcome("ignored", reason="no signed VERP address or Message-ID of ours")
    failure = max(report.failures, key=lambda f: KIND_RANK[f.kind])
    return _apply(delivery, failure, source)


def _delivery_proven(report: Report, envelope_recipients: Sequence[str]) -> tuple[Delivery | None, str]:
    for address in [*envelope_recipients, report.original_return_path]:
        delivery_id = verp_read(address) if address else None
        if delivery_id is not None:
            return Delivery.objects.filter(pk=delivery_id).first(), "verp"
    match = MESSAGE_ID.match(report.original_message_id)
    if match and match.group(3).lower() == settings.MAIL_DOMAIN.lower():
        send_id, subscriber_id = int(match.group(1)), int(match.group(2))
        if message_id_for(send_id, subscriber_id).strip("<>") == report.original_message_id.strip("<>"):
            return (Delivery.objects.filter(send_id=send_id, subscriber_id=subscriber_id).first(),
                    "message-id")
    return None, ""


def _apply(delivery: Delivery, failure: Failure, source: str) -> Outcome:
    address = delivery.email
    if failure.kind == "soft" and BounceEvent.objects.filter(
            delivery_id=delivery.pk, kind=BounceEvent.Kind.SOFT).exists():
        # MTAs send several "delayed" warnings about one message that may still arrive:
        # a message counts once, so N soft bounces means N different messages.
        return Outcome("ignored", "soft", address, delivery.pk, "already counted for this message")
    with transaction.atomic():
        BounceEvent.objects.create(
            email_hash=email_hash(address), email=address, kind=failure.kind, status=failure.status,
            diagnostic=failure.diagnostic, delivery_id=delivery.pk, source=source)
        if failure.kind in {"hard", "complaint"}:
            _delivery_mark_bounced(delivery.pk, failure)
        if failure.kind == "complaint":
            _unsubscribe_everywhere(delivery)
            suppression_add(address, Suppression.Reason.COMPLAINT, f"ARF {failure.diagnostic}")
            return Outcome("suppressed", "complaint", address, delivery.pk)
        if failure.kind == "hard":
            suppression_add(address, Suppression.Reason.HARD_BOUNCE,
                            f"{failure.status} {failure.diagnostic}".strip())
            return Outcome("suppressed", "hard", address, delivery.pk)
        return _soft_count(address, delivery.pk)


def _soft_count(address: str, delivery_id: int) -> Outcome:
    since = timezone.now() - timedelta(days=settings.SOFT_BOUNCE_WINDOW_DAYS)
    count = (BounceEvent.objects.filter(email_hash=email_hash(address), kind=BounceEvent.Kind.SOFT,
                                        created_at__gte=since)
             .values("delivery_id").distinct().count())
    if count >= settings.SOFT_BOUNCE_LIMIT:
        suppression_add(address, Suppression.Reason.SOFT_BOUNCE,
                        f"{count} soft bounces in {settings.SOFT_BOUNCE_WINDOW_DAYS} days")
        return Outcome("suppressed", "soft", address, delivery_id, f"{count} soft bounces")
    return Outcome("counted", "soft", address, delivery_id, f"{count} soft bounce(s) so far")


def _delivery_mark_bounced(delivery_id: int, failure: Failure) -> None:
    """The one transition of a Delivery after it was sent: an asynchronous bounce.
    Conditional on ``sent`` so that a late report never rewrites another outcome."""
    delivery_bounced_after_sent(
        delivery_id, f"async {failure.kind}: {failure.status} {failure.diagnostic}".strip())


def _unsubscribe_everywhere(delivery: Delivery) -> None:
    if delivery.subscriber is None:
        return
    for sub in Subscription.objects.filter(subscriber=delivery.subscriber).exclude(
            status=Subscription.Status.UNSUBSCRIBED).select_related("mailing_list"):
        subscription_set(delivery.subscriber, sub.mailing_list, Subscription.Status.UNSUBSCRIBED,
                         actor="complaint", method="arf", source="spam complaint (ARF)")
