"""The ledger's references to its send, variant and list are kept by the application
(Django's on_delete), not by database foreign keys: each rule still holds."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from mailer.issues.models import Issue
from mailer.sending.models import Delivery
from mailer.sending.planning import send_create, send_plan
from subscribers.models import MailingList, Subscriber

pytestmark = pytest.mark.django_db


def test_deleting_a_send_deletes_its_ledger_rows(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"]])
    send_plan(send)
    assert Delivery.objects.filter(send_id=send.pk).exists()
    send.delete()
    assert not Delivery.objects.filter(send_id=send.pk).exists()


def test_a_variant_someone_was_mailed_cannot_be_deleted(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send_plan(send_create(issue, [lists["partners"]]))
    variant = issue.variants.get(language="en")
    with pytest.raises(ProtectedError):
        variant.delete()
    assert Delivery.objects.filter(variant_id=variant.pk).exists()


def test_deleting_a_list_keeps_the_ledger_rows_without_their_list(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    send = send_create(issue, [lists["partners"]])
    send_plan(send)
    rows = Delivery.objects.filter(send_id=send.pk).count()
    lists["partners"].delete()
    assert Delivery.objects.filter(send_id=send.pk).count() == rows
    assert not Delivery.objects.filter(send_id=send.pk, mailing_list__isnull=False).exists()
