"""Frictions found in a newcomer walk-through of the comms workflow, each fixed."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from mailer.issues.duplicate import front_matter_advance, issue_duplicate
from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.web import forms as web_forms

pytestmark = pytest.mark.django_db


def addresses(text: str) -> list[str]:
    form = web_forms.TestSendForm({"addresses": text, "language": "en"})
    assert form.is_valid(), form.errors
    return form.cleaned_data["addresses"]


def test_test_send_addresses_may_be_separated_by_semicolons_as_outlook_pastes_them() -> None:
    pasted = "Aigerim Bekova <aigerim@example.org>; bakyt@example.net;\ndilnoza@example.com"
    assert addresses(pasted) == ["aigerim@example.org", "bakyt@example.net", "dilnoza@example.com"]


def test_test_send_addresses_still_refuse_a_bad_one_by_name() -> None:
    form = web_forms.TestSendForm({"addresses": "ok@example.org; not-an-address", "language": "en"})
    assert not form.is_valid()
    assert "not-an-address is not a valid email address." in str(form.errors)


def test_the_next_issue_moves_number_and_date_on_and_keeps_the_rest_of_the_text() -> None:
    source = "---\ntitle: T\nnumber: 3\ndate: 2020-07-10\nlang: en\n---\n\nnumber: 3 stays in the body\n"
    assert front_matter_advance(source, number=4, today=date(2026, 12, 3)) == (
        "---\ntitle: T\nnumber: 4\ndate: 2026-12-03\nlang: en\n---\n\nnumber: 3 stays in the body\n")


NUMBERED = "---\ntitle: Bulletin\nnumber: 3\ndate: 2020-07-10\n---\n\nHello.\n"


@pytest.fixture
def numbered() -> Issue:
    issue = issue_import(NUMBERED, language="en", slug="bulletin-3").issue
    issue_import(NUMBERED.replace("Hello.", "Здравствуйте."), language="ru", slug="bulletin-3")
    return Issue.objects.get(pk=issue.pk)


def test_starting_from_an_issue_copies_every_language_as_a_new_draft(numbered: Issue) -> None:
    Issue.objects.filter(pk=numbered.pk).update(status=Issue.Status.READY)
    copy = issue_duplicate(numbered, today=date(2026, 12, 3))
    assert copy.pk != numbered.pk and copy.status == Issue.Status.DRAFT
    assert (copy.number, copy.date) == (4, date(2026, 12, 3))
    assert sorted(v.language for v in copy.variants.all()) == ["en", "ru"]
    assert all("number: 4" in v.source_markdown for v in copy.variants.all())
    assert not copy.sends.exists()


def test_starting_twice_from_the_same_issue_gives_two_drafts(issue: Issue) -> None:
    first, second = issue_duplicate(issue), issue_duplicate(issue)
    assert len({issue.slug, first.slug, second.slug}) == 3


def test_comms_staff_start_the_next_issue_from_the_editor(comms_client: Client, numbered: Issue) -> None:
    response = comms_client.post(reverse("web:issue-copy", args=[numbered.pk]))
    copy = Issue.objects.exclude(pk=numbered.pk).get()
    assert response["Location"] == reverse("web:issue-edit", args=[copy.pk])
    page = comms_client.get(response["Location"]).content.decode()
    assert "A new draft, №4, was started from" in page


def test_the_new_issue_page_offers_the_last_issue_as_a_start(comms_client: Client, issue: Issue) -> None:
    page = comms_client.get(reverse("web:issue-new")).content.decode()
    assert reverse("web:issue-copy", args=[issue.pk]) in page
    assert "Start from the last issue" in page


def test_viewers_cannot_start_an_issue(viewer_client: Client, issue: Issue) -> None:
    assert viewer_client.post(reverse("web:issue-copy", args=[issue.pk])).status_code == 403
    assert Issue.objects.count() == 1


def test_the_segment_slug_is_filled_in_from_its_name(admin_client: Client) -> None:
    page = admin_client.get("/admin/subscribers/segment/add/").content.decode()
    assert ("data-prepopulated-fields=\"[{&quot;id&quot;: &quot;#id_slug&quot;, &quot;name&quot;: "
            "&quot;slug&quot;, &quot;dependency_ids&quot;: [&quot;#id_name&quot;]") in page
