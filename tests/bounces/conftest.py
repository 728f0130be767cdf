"""Fixtures for bounce tests: a sent delivery."""

from __future__ import annotations

import pytest
from bounce_fixtures import RCPT

from mailer.issues.models import Issue, IssueVariant
from mailer.sending.models import Delivery, Send
from subscribers.models import MailingList, Subscriber, Subscription, email_hash


@pytest.fixture
def delivery(db: None) -> Delivery:
    subscriber = Subscriber.objects.create(email=RCPT, email_hash=email_hash(RCPT), name="Aigerim")
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    Subscription.objects.create(subscriber=subscriber, mailing_list=mlist, status="confirmed")
    issue = Issue.objects.create(slug="issue-3", title="Issue 3")
    variant = IssueVariant.objects.create(issue=issue, language="en", source_markdown="# x",
                                          subject="Issue 3")
    send = Send.objects.create(issue=issue)
    send.lists.add(mlist)  # while a draft: a send that left draft keeps its lists
    Send.objects.filter(pk=send.pk).update(status=Send.Status.DONE)
    return Delivery.objects.create(send=send, subscriber=subscriber, email=RCPT, variant=variant,
                                   mailing_list=mlist, status=Delivery.Status.SENT)


