"""The acceptance set-up itself: the seed issue really went through planning, the batch
task, SMTP and the sink, once per person, in each person's language. The STANDARDS.md
rows are checked in the other test_standards_* modules on exactly these messages."""

from __future__ import annotations

import re

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from subscribers.models import MailingList, Subscriber, Subscription, email_hash
from subscribers.services import name_clean
from tests.acceptance.conftest import Sender, SendOutcome

MERGE_SYNTAX = re.compile(r"\{\{|\}\}|\{%")


def test_every_person_gets_exactly_one_copy_even_when_on_two_lists(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    assert len(sent.messages) == len(people)
    assert Delivery.objects.filter(send=sent.send).count() == len(people)
    assert set(Delivery.objects.filter(send=sent.send).values_list("status", flat=True)) == {
        Delivery.Status.SENT}
    assert sent.send.status == Send.Status.DONE


def test_each_person_gets_the_variant_of_their_language(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    for person in people.values():
        assert sent.delivery(person).variant.language == person.language


def test_the_idn_address_is_mailed_in_its_ascii_form(sent: SendOutcome,
                                                     people: dict[str, Subscriber]) -> None:
    person = people["zhanna"]
    assert person.email == "zhanna@xn--e1afmkfd.xn--80akhbyknj4f"
    m = sent.to(person)
    assert m.envelope_to == person.email
    assert m.message["To"].addresses[0].addr_spec == person.email


def test_row_24_a_name_typed_into_a_form_cannot_put_template_syntax_into_a_message(
        sender: Sender, issue: Issue, lists: dict[str, MailingList]) -> None:
    name = name_clean("{{ unsubscribe_url }} {% raw %} Mallory")  # as the subscribe form stores it
    address = "mallory@example.com"
    person = Subscriber.objects.create(email=address, email_hash=email_hash(address), name=name)
    Subscription.objects.create(subscriber=person, mailing_list=lists["public"],
                                status=Subscription.Status.CONFIRMED)
    m = sender.send(issue, [lists["public"]]).to(person)
    assert not MERGE_SYNTAX.search(str(m.message["To"]))
    assert not MERGE_SYNTAX.search(m.text)
    assert not MERGE_SYNTAX.search(m.html)
