"""The send wizard's numbers: who a draft send will reach, and why others will not.

The count comes from the sending team's ``audience_queryset`` for the draft itself,
so what staff confirm is exactly what planning will freeze (modulo changes made
between confirming and starting, which the confirmation re-checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, OuterRef

from mailer.sending.models import Send
from mailer.sending.planning import audience_queryset, issue_reached_elsewhere
from subscribers.models import Subscriber, Subscription, Suppression


@dataclass
class AudienceSummary:
    recipients: int
    subscriptions: int  # confirmed subscriptions on the chosen lists (one person may have many)
    people: int  # distinct people among them (after dedupe)
    suppressed: int  # of those people, on the suppression list or blocklisted
    already_received: int  # of the others, mailed (or being mailed) this issue by another send
    by_list: list[tuple[str, int]] = field(default_factory=list)
    by_language: list[tuple[str, int]] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.subscriptions - self.people

    @property
    def filtered_out(self) -> int:
        """Removed by excluded lists or the segment (and only by them)."""
        return max(self.people - self.suppressed - self.already_received - self.recipients, 0)


def audience_summary(send: Send) -> AudienceSummary:
    """Counts for a draft send; one query each, no rows loaded."""
    audience = audience_queryset(send)
    lists = list(send.lists.order_by("name"))
    confirmed = Subscription.objects.filter(mailing_list__in=lists,
                                            status=Subscription.Status.CONFIRMED)
    people = Subscriber.objects.filter(pk__in=confirmed.values("subscriber_id"))
    suppressed = people.filter(
        email_hash__in=Suppression.objects.values("email_hash")
    ).count() + people.exclude(status=Subscriber.Status.ACTIVE).exclude(
        email_hash__in=Suppression.objects.values("email_hash")).count()
    mailable = people.filter(status=Subscriber.Status.ACTIVE).exclude(
        email_hash__in=Suppression.objects.values("email_hash"))
    # The planner's own "one issue reaches a person once" rule, so this count cannot
    # drift from what planning leaves out.
    reached = issue_reached_elsewhere(send).filter(subscriber=OuterRef("pk"))
    already_received = mailable.filter(Exists(reached)).count()
    by_list = [(ml.name, audience.filter(subscriptions__mailing_list=ml,
                                         subscriptions__status=Subscription.Status.CONFIRMED)
                .count()) for ml in lists]
    names = dict(settings.LANGUAGES)
    by_language = [(names.get(row["language"], row["language"]), row["n"])
                   for row in audience.values("language").annotate(n=Count("pk"))
                   .order_by("-n", "language")]
    return AudienceSummary(recipients=audience.count(), subscriptions=confirmed.count(),
                           people=people.count(), suppressed=suppressed,
                           already_received=already_received, by_list=by_list,
                           by_language=by_language)

