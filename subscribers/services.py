"""Audience domain operations: normalising addresses, subscribing, unsubscribing, suppressing,
and a person's own data (download, erasure).

Every change of a subscription goes through :func:`subscription_set`, which writes the
audit trail; views, commands and the importer never assign ``Subscription.status``.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from email_validator import SPECIAL_USE_DOMAIN_NAMES as EMAIL_SPECIAL_USE
from email_validator import EmailNotValidError, validate_email

from subscribers.models import (
    ConsentRecord,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    email_hash,
)

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: none may reach a
# name, or a name merged into a header could start a new header line (header injection).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Invisible characters that spreadsheets and web forms leave behind, and the bidirectional
# marks, embeddings, overrides and isolates (U+202E turns "Bank‮gro.evil" around in a From
# or To line, issue 10): dropped, not spaced.
_INVISIBLE_RE = re.compile(r"[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


class InvalidAddress(ValueError):
    """The address is not a deliverable-looking email address."""


class TemplateLikeAddress(InvalidAddress):
    """A valid address whose local part carries template syntax characters; refused."""


# The everyday shape of an address (ASCII dot-atom local part, plain LDH domain labels, an
# alphabetic top-level domain). It is a strict subset of what email-validator accepts, checked
# by a property test, and lets a 100,000-row import skip the validator's slower general path.
_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")
_SPECIAL_USE = tuple(EMAIL_SPECIAL_USE)


def _plain_normalise(raw: str) -> str | None:
    match = _PLAIN_ADDRESS.fullmatch(raw)
    if match is None or len(raw) > 254 or len(match["local"]) > 64:
        return None
    domain = match["domain"].lower()
    if "--" in domain or len(domain) > 253 or any(
            domain == name or domain.endswith("." + name) for name in _SPECIAL_USE):
        return None  # IDNA (xn--), reserved names: let the validator decide
    return f"{match['local']}@{domain}"


def email_normalise(raw: str) -> str:
    """Lower-case and IDNA-encode the domain; keep the local part as written (RFC 5321 §2.4).
    Refuses local parts with template syntax characters (see ``TEMPLATE_LIKE``)."""
    plain = _plain_normalise(raw.strip())
    if plain is None:
        try:
            info = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            raise InvalidAddress(str(exc)) from None
        plain = f"{info.local_part}@{info.ascii_domain.lower()}"
    local = plain.rpartition("@")[0]
    risky = sorted(set(TEMPLATE_LIKE.findall(local)))
    if risky:
        raise TemplateLikeAddress(
            f"the part before the @ contains {' '.join(risky)}, which this newsletter refuses: "
            "such characters are template syntax ({{ }}, {% %}, ${ }, *|TAG|*) that a relay or "
            "mail service could expand in the To: header. If the address is real, ask the "
            "person for another one.")
    return plain


# RFC 5322 allows these in a local part, but people's addresses do not use them, while
# Jinja, Mailchimp-style merge tags and ${} templates do (issue 10: "{{7*7}}@example.org"
# reached a To: header).
TEMPLATE_LIKE = re.compile(r"[{}%$`|]")


def text_clean(value: str) -> str:
    """One line of plain text: control characters become spaces, whitespace is collapsed."""
    return " ".join(_CONTROL_RE.sub(" ", _INVISIBLE_RE.sub("", value)).split())


def name_clean(value: str) -> str:
    """A person's or organisation's name: ``text_clean`` without curly braces, so no name can
    carry template syntax (``{{ }}``, ``{% %}``) into a header or part where a relay or an
    email service might expand it (STANDARDS row 24)."""
    return text_clean(value.replace("{", "").replace("}", ""))


def subscriber_find(normalised_email: str) -> Subscriber | None:
    """The subscriber with this address in any letter case, or None."""
    return Subscriber.objects.filter(email_hash=email_hash(normalised_email)).first()


def is_suppressed(normalised_email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(normalised_email)).exists()


def suppression_add(normalised_email: str, reason: str, detail: str = "") -> Suppression:
    obj, _ = Suppression.objects.get_or_create(
        email_hash=email_hash(normalised_email),
        defaults={"email": normalised_email, "reason": reason, "detail": detail},
    )
    return obj


def subscription_set(subscriber: Subscriber, mailing_list: MailingList, status: str, *,
                     actor: str, method: str = "", source: str = "", ip: str | None = None,
                     consent_text: str = "") -> Subscription:
    """Create or change one subscription and record the change in the audit trail.

    A move to confirmed or unconfirmed with a ``method`` is an act of consent: it appends a
    ``ConsentRecord`` (never changed afterwards) and the subscription's ``consent_*`` fields
    show it as the latest. An unsubscribe records no consent and keeps the old fields.
    """
    now = timezone.now()
    with transaction.atomic():
        sub, created = Subscription.objects.select_for_update().get_or_create(
            subscriber=subscriber, mailing_list=mailing_list,
            defaults={"status": status,
                      "consent_at": now if status != "unsubscribed" else None,
                      "consent_method": method, "consent_source": source, "consent_ip": ip,
                      "consent_text": consent_text},
        )
        old = "" if created else sub.status
        consented = status != Subscription.Status.UNSUBSCRIBED and (created or bool(method))
        if not created and sub.status != status:
            sub.status = status
            fields = ["status", "updated_at"]
            if consented:
                sub.consent_at, sub.consent_method, sub.consent_source = now, method, source
                sub.consent_ip, sub.consent_text = ip, consent_text or sub.consent_text
                fields += ["consent_at", "consent_method", "consent_source", "consent_ip",
                           "consent_text"]
            sub.save(update_fields=fields)
        if created or old != status:
            SubscriptionEvent.objects.create(
                subscriber=subscriber, mailing_list=mailing_list, email_hash=subscriber.email_hash,
                action="subscription", old_status=old, new_status=status, actor=actor,
                detail=source, ip=ip,
            )
            if consented:
                ConsentRecord.objects.create(
                    subscriber=subscriber, mailing_list=mailing_list, status=status,
                    method=method, source=source, ip=ip, text=sub.consent_text, actor=actor,
                    given_at=now)
    return sub


def unsubscribe(subscriber: Subscriber, mailing_list: MailingList | None, *, actor: str,
                source: str = "", ip: str | None = None) -> None:
    """Unsubscribe from one list, or from everything when ``mailing_list`` is None.

    Takes effect for every send planned afterwards and, because the sender re-reads the
    status before each message, for queued messages of sends already running.
    """
    if mailing_list is None:
        leave_everything(subscriber, actor=actor, source=source, ip=ip)
        return
    subscription_set(subscriber, mailing_list, Subscription.Status.UNSUBSCRIBED, actor=actor,
                     source=source, ip=ip)


def unsubscribe_scope(subscriber: Subscriber, mlist: MailingList | None,
                      send_id: int | None) -> list[MailingList]:
    """The lists one email's unsubscribe (link or mail) leaves: the list it was sent
    through and every other list of the same send the person is still on — else the same
    issue would keep arriving through the other list (STANDARDS row 6). Empty means
    "everything"."""
    if mlist is None:
        return []
    lists = {mlist.pk: mlist}
    if send_id:
        others = MailingList.objects.filter(
            sends__id=send_id, subscriptions__subscriber=subscriber,
            subscriptions__status__in=[Subscription.Status.CONFIRMED,
                                       Subscription.Status.UNCONFIRMED])
        lists.update({m.pk: m for m in others})
    return sorted(lists.values(), key=lambda m: m.name)


def leave_everything(subscriber: Subscriber, *, actor: str, source: str = "",
                     ip: str | None = None) -> None:
    """Unsubscribe from every list and suppress the address globally (reason: unsubscribed)."""
    with transaction.atomic():
        for sub in subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED):
            subscription_set(subscriber, sub.mailing_list, Subscription.Status.UNSUBSCRIBED,
                             actor=actor, source=source, ip=ip)
        suppression_add(subscriber.email, Suppression.Reason.UNSUBSCRIBED, detail=source)
        SubscriptionEvent.objects.create(
            subscriber=subscriber, email_hash=subscriber.email_hash, action="leave_everything",
            new_status="suppressed", actor=actor, detail=source, ip=ip)


def suppression_lift_for_optin(subscriber: Subscriber) -> None:
    """A confirmed double opt-in proves the person wants mail again: lift their own earlier
    "unsubscribed" suppression (never a bounce, complaint or manual block)."""
    Suppression.objects.filter(email_hash=subscriber.email_hash,
                               reason=Suppression.Reason.UNSUBSCRIBED).delete()


def subscriber_data(subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about one person, for their download (GDPR Art. 15/20)."""
    from mailer.engagement.privacy import engagement_data  # the engagement app imports us
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "organisation": subscriber.organisation,
        "country": subscriber.country,
        "language": subscriber.language,
        "attributes": subscriber.attributes,
        "tags": sorted(t.name for t in subscriber.tags.all()),
        "status": subscriber.status,
        "created_at": subscriber.created_at.isoformat(),
        "subscriptions": [
            {"list": s.mailing_list.slug, "list_name": s.mailing_list.name, "status": s.status,
             "consent_at": s.consent_at.isoformat() if s.consent_at else None,
             "consent_method": s.consent_method, "consent_source": s.consent_source,
             "consent_ip": s.consent_ip, "consent_text": s.consent_text}
            for s in subscriber.subscriptions.select_related("mailing_list").order_by("pk")
        ],
        "consents": [
            {"list": c.mailing_list.slug, "status": c.status, "when": c.given_at.isoformat(),
             "method": c.method, "source": c.source, "ip": c.ip, "text": c.text}
            for c in subscriber.consent_records.select_related("mailing_list").order_by("pk")
        ],
        "history": [
            {"when": e.created_at.isoformat(), "action": e.action,
             "list": e.mailing_list.slug if e.mailing_list else None,
             "from": e.old_status, "to": e.new_status, "by": e.actor}
            for e in subscriber.events.select_related("mailing_list").order_by("pk")
        ],
        "opens_and_clicks": engagement_data(subscriber.pk),  # per-person tracking only
    }


def subscriber_erase(subscriber: Subscriber, *, actor: str) -> None:
    """Erase a person: delete them and their subscriptions, keep only the address's hash in
    the suppression list so it is never mailed again, strip IPs from the audit trail."""
    digest = subscriber.email_hash
    with transaction.atomic():
        Suppression.objects.update_or_create(
            email_hash=digest,
            defaults={"email": "", "reason": Suppression.Reason.ERASED, "detail": ""},
        )
        SubscriptionEvent.objects.filter(email_hash=digest).update(ip=None, detail="")
        # The delivery ledger keeps its counts but not the address (the subscriber link
        # becomes NULL on delete; a queued delivery without a subscriber is skipped).
        from mailer.sending.models import Delivery

        Delivery.objects.filter(subscriber=subscriber).update(email="")
        # Bounce events keep the hash (soft-bounce counting) and their kind and status, not
        # the address, nor the diagnostic, which usually quotes it ("<aida@…>: unknown").
        from mailer.bounces.models import BounceEvent

        BounceEvent.objects.filter(email_hash=digest).update(email="", diagnostic="")
        # The audience app's own mails keep kind, status and times; the relay's reply
        # may quote the address, and the summary of a preferences change is theirs.
        subscriber.transactional_mails.update(smtp_reply="", detail={})
        subscriber.delete()
        SubscriptionEvent.objects.create(email_hash=digest, action="erased", actor=actor,
                                         new_status="erased")
