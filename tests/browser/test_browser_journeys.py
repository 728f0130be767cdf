"""The main journeys in a real browser: comms staff from a seed file to a finished send
and its report; an admin importing a CSV and reading the row errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from mailer.sending.models import Send
from subscribers.models import MailingList
from subscribers.services import suppression_add
from tests.browser.conftest import Steps
from tests.web.personas import PASSWORD, SEED, subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, user: User, steps: Steps) -> None:
    page.goto(f"{base}/issues/")
    page.wait_for_url("**/login/**")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    steps.shot("login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/issues/")


def audience_of_35() -> None:
    """30 partners (2 also on Subscribers) + 5 readers, 1 of them suppressed: 34 recipients."""
    partners = MailingList.objects.create(slug="partners", name="Partners", kind="partner")
    news = MailingList.objects.create(slug="news", name="Subscribers", kind="public")
    for n in range(30):
        subscriber(f"partner{n}@ngo.example.org", language="ru" if n % 3 == 0 else "en",
                   lists=(partners, news) if n < 2 else (partners,))
    for n in range(5):
        subscriber(f"reader{n}@mail.example.org", lists=(news,))
    suppression_add("reader4@mail.example.org", "hard_bounce")


def test_it_takes_comms_staff_from_the_seed_to_a_finished_send(
        live_server: Any, page: Any, steps: Steps, comms_user: User, smtp_sink: Any,
        eager_celery: None) -> None:
    audience_of_35()
    base = live_server.url
    sign_in(page, base, comms_user, steps)
    steps.shot("issues")

    page.get_by_role("link", name="New issue").click()
    page.get_by_label("Markdown file").set_input_files(str(SEED))
    steps.shot("new-issue")
    page.get_by_role("button", name="Create issue").click()
    page.wait_for_url("**/edit/")

    desktop, phone = page.locator("#frame-desktop"), page.locator("#frame-phone")
    assert round(desktop.bounding_box()["width"]) == 600
    assert round(phone.bounding_box()["width"]) == 375
    assert "DIRECT ASSISTANCE" in page.frame_locator("#frame-phone").locator("body").inner_text()
    page.locator("#preview-heading").scroll_into_view_if_needed()
    steps.shot("preview-both-widths", full_page=False)
    page.get_by_role("tab", name="Plain text").click()
    assert "DIRECT ASSISTANCE" in page.locator("#text-part").inner_text()
    steps.shot("preview-text")
    page.get_by_role("tab", name="HTML").click()

    page.get_by_label("Issue number").fill("3")
    page.locator("#render-state").get_by_text("Preview updated").wait_for()
    assert page.locator("#unsaved-note").inner_text() == "Unsaved changes"
    steps.shot("live-preview", full_page=False)
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messages").get_by_text("Saved.").wait_for()

    page.get_by_label("Other addresses").fill("colleague@example.org")
    page.get_by_role("button", name="Send test").click()
    page.get_by_text("Test sent to casey@staff.example.org, colleague@example.org").wait_for()
    assert len(smtp_sink.messages()) == 2
    steps.shot("test-sent")

    page.get_by_role("link", name="Send…").click()
    chosen = page.get_by_role("group", name="Send to these lists")
    chosen.get_by_label("Partners").check()
    chosen.get_by_label("Subscribers").check()
    steps.shot("wizard-audience")
    page.get_by_role("button", name="Count recipients").click()
    count = page.locator("#recipient-count")
    assert count.inner_text() == "34"
    steps.shot("wizard-count")
    page.get_by_label("Type the number of recipients to confirm").fill("34")
    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url("**/sends/*/")

    page.locator("#percent").get_by_text("100%").wait_for()
    page.locator("#status.status-done").wait_for()
    steps.shot("progress-100")
    assert Send.objects.get().deliveries.filter(status="sent").count() == 34
    assert len(smtp_sink.messages()) == 2 + 34

    page.get_by_role("link", name="Open the report").click()
    page.locator("#outcomes").wait_for()
    assert "34" in page.locator("#outcomes").inner_text()
    assert page.locator("svg rect").count() >= 1
    steps.shot("report")


def test_it_shows_an_admin_the_row_errors_of_a_csv_import(
        live_server: Any, page: Any, steps: Steps, admin_user: User, tmp_path: Path) -> None:
    MailingList.objects.create(slug="partners", name="Partners", kind="partner")
    csv_file = tmp_path / "partners.csv"
    csv_file.write_text("email,name,country\naida@ngo.kz,Aida,KZ\nbroken-address,Bek,KG\n"
                        "chris@un.org,Chris,KZ\n", encoding="utf-8")
    sign_in(page, live_server.url, admin_user, steps)
    page.get_by_role("link", name="Import").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_label("Add everyone to the list").select_option(label="Partners")
    steps.shot("import-form")
    page.get_by_role("button", name="Import").click()
    errors = page.locator("#row-errors")
    errors.wait_for()
    first_error = errors.locator("tbody tr").first.locator("td")
    assert first_error.nth(0).inner_text() == "3"  # the line of "broken-address"
    assert first_error.nth(1).inner_text()
    steps.shot("import-row-errors")
