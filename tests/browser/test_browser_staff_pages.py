"""The staff app as a newcomer meets it: the editor keeps unsaved work and shows the
preview beside the text on a laptop, and no page scrolls sideways on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from mailer.issues.models import Issue
from mailer.sending.planning import send_create
from subscribers.models import MailingList
from tests.browser.conftest import ARTIFACTS, Steps
from tests.browser.test_browser_journeys import sign_in
from tests.web.personas import subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def artifacts(request: pytest.FixtureRequest) -> Any:
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)


def test_the_editor_asks_before_leaving_unsaved_changes(live_server: Any, page: Any, steps: Steps,
                                                        comms_user: User, issue: Issue) -> None:
    sign_in(page, live_server.url, comms_user, steps)
    page.goto(f"{live_server.url}/issues/{issue.pk}/edit/")
    assert page.locator("#unsaved-note").inner_text() == ""
    page.get_by_label("Subject line").fill("A subject nobody saved")
    assert page.locator("#unsaved-note").inner_text() == "Unsaved changes"
    steps.shot("unsaved")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()  # "stay on this page"

    page.on("dialog", answer)
    page.get_by_role("link", name="Issues").first.click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.url.endswith(f"/issues/{issue.pk}/edit/")
    assert page.get_by_label("Subject line").input_value() == "A subject nobody saved"


def test_saving_leaves_without_a_question(live_server: Any, page: Any, steps: Steps,
                                          comms_user: User, issue: Issue) -> None:
    sign_in(page, live_server.url, comms_user, steps)
    page.goto(f"{live_server.url}/issues/{issue.pk}/edit/")
    page.get_by_label("Subject line").fill("Saved on purpose")
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messages").get_by_text("Saved.").wait_for()
    assert asked == []
    assert issue.variants.get(language="en").subject == "Saved on purpose"


def test_the_preview_stands_beside_the_text_at_1280_px(live_server: Any, browser: Any,
                                                        comms_user: User, issue: Issue,
                                                        request: pytest.FixtureRequest) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    steps = Steps(page, artifacts(request))
    sign_in(page, live_server.url, comms_user, steps)
    page.goto(f"{live_server.url}/issues/{issue.pk}/edit/")
    source = page.locator("#variant-form").bounding_box()
    preview = page.locator("#preview-heading").bounding_box()
    steps.shot("editor-1280", full_page=False)
    assert preview["x"] >= source["x"] + source["width"]
    assert preview["y"] < 600  # beside, not below the whole form
    context.close()


def test_no_staff_page_scrolls_sideways_on_a_phone(live_server: Any, browser: Any, comms_user: User,
                                                   issue: Issue, request: pytest.FixtureRequest) -> None:
    partners = MailingList.objects.create(slug="partners", name="Partners", kind="partner")
    for n in range(3):
        subscriber(f"very.long.partner.address.number.{n}@ministry-of-labour.example.org",
                   lists=(partners,))
    send = send_create(issue, [partners], created_by=comms_user)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    steps = Steps(page, artifacts(request))
    sign_in(page, live_server.url, comms_user, steps)
    wide = {}
    for path in ["/issues/", "/issues/new/", f"/issues/{issue.pk}/edit/", f"/issues/{issue.pk}/sends/",
                 f"/issues/{issue.pk}/send/", "/sends/", f"/sends/{send.pk}/",
                 f"/sends/{send.pk}/report/", "/library/", "/account/tokens/"]:
        page.goto(live_server.url + path)
        steps.shot(path.strip("/").replace("/", "-"))
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            wide[path] = width
    context.close()
    assert wide == {}
