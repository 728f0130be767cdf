"""The public archive: which issues are public, their entries (one per language variant),
and the list a reader is invited to subscribe to.

The rule (docs/security.md, "Archive and demo mailbox exposure"): an issue is public once
a send of it started or finished to at least one public list, or once sent at all when an
Admin marked it *public in the archive*. Everything public — the list, the per-issue
pages, the feed — reads it from ``public_sends`` here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min, Q, QuerySet

from mailer.issues.models import Issue, IssueVariant
from mailer.sending.models import Send
from subscribers.models import MailingList

ARCHIVED_SEND_STATUSES = (Send.Status.DONE, Send.Status.SENDING)


def public_sends() -> QuerySet[Send]:
    """Sends that make their issue public. An issue sent only to private lists stays out
    (issue 10); its recipients open it with the key in their "View in browser" link."""
    return Send.objects.filter(Q(lists__visibility=MailingList.Visibility.PUBLIC)
                               | Q(issue__archive_public=True),
                               status__in=ARCHIVED_SEND_STATUSES)


def issue_is_public(issue: Issue) -> bool:
    return public_sends().filter(issue=issue).exists()


@dataclass(frozen=True)
class ArchivedIssue:
    issue: Issue
    variants: list[IssueVariant]  # in language order
    published: dt.datetime  # when the first public send started

    @property
    def date(self) -> dt.date:
        return self.issue.date or self.published.date()


def public_issues() -> list[ArchivedIssue]:
    """Public issues, newest first, each with its variants and first public send time."""
    firsts = {issue_id: started or created for issue_id, started, created in
              public_sends().values("issue_id").order_by()
              .annotate(started=Min("started_at"), created=Min("created_at"))
              .values_list("issue_id", "started", "created")}
    issues = Issue.objects.filter(pk__in=firsts).prefetch_related("variants")
    out = [ArchivedIssue(issue, sorted(issue.variants.all(), key=lambda v: v.language),
                         firsts[issue.pk])
           for issue in issues]
    return sorted(out, key=lambda a: (a.date, a.published, a.issue.pk), reverse=True)


def subscribe_list_for(issue: Issue | None = None) -> MailingList | None:
    """The public list to invite a reader to: one the issue was sent to, else any."""
    public = MailingList.objects.filter(visibility=MailingList.Visibility.PUBLIC).order_by("name")
    if issue is not None:
        sent_to = public.filter(sends__issue=issue,
                                sends__status__in=ARCHIVED_SEND_STATUSES).first()
        if sent_to is not None:
            return sent_to
    return public.first()
