"""Live progress in the browser: counters move to 100 % without a page reload while a
worker delivers; the pages fit a tablet screen."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from mailer.issues.models import Issue
from mailer.sending.models import Send
from mailer.sending.planning import send_create, send_plan
from mailer.sending.runner import delivery_send_range, send_finish_if_complete
from mailer.sending.state import send_transition
from subscribers.models import MailingList
from tests.browser.conftest import Steps
from tests.browser.test_browser_journeys import sign_in
from tests.web.personas import subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def planned_send(issue: Issue, user: User, people: int) -> Send:
    """A send planned and marked sending, with no task queued: the test is the worker."""
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    for n in range(people):
        subscriber(f"p{n}@ngo.example.org", lists=(mlist,))
    send = send_create(issue, [mlist], created_by=user)
    assert send_transition(send.pk, Send.Status.PLANNING)
    send_plan(send)
    assert send_transition(send.pk, Send.Status.SENDING)
    return send


def test_it_updates_progress_without_reloading_the_page(
        live_server: Any, page: Any, steps: Steps, comms_user: User, issue: Issue,
        smtp_sink: Any) -> None:
    send = planned_send(issue, comms_user, 12)
    sign_in(page, live_server.url, comms_user, steps)
    page.goto(f"{live_server.url}/sends/{send.pk}/")
    assert page.locator("#percent").inner_text() == "0%"
    assert page.locator("#headline").inner_text() == f"Sending “{issue.title}”"
    page.evaluate("window.__sameDocument = true")
    steps.shot("progress-0")

    low, high = send.deliveries.order_by("id").values_list("id", flat=True)[::11]
    delivery_send_range(send.pk, low, high)  # this test process acts as the worker
    send_finish_if_complete(send.pk)

    page.locator("#percent").get_by_text("100%").wait_for()
    page.locator("#status.status-done").wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#c-sent").inner_text() == "12"
    assert page.locator("#headline").inner_text() == f"Sent “{issue.title}”"
    assert page.locator("#l-rate").inner_text() == "Average per second"
    assert page.locator("#controls").is_hidden()
    steps.shot("progress-100-live")


def test_it_pauses_from_the_progress_page_after_confirmation(
        live_server: Any, page: Any, steps: Steps, comms_user: User, issue: Issue) -> None:
    send = planned_send(issue, comms_user, 3)
    sign_in(page, live_server.url, comms_user, steps)
    page.goto(f"{live_server.url}/sends/{send.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Paused. Messages already handed over").wait_for()
    steps.shot("paused")
    assert Send.objects.get(pk=send.pk).status == Send.Status.PAUSED
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Cancel send").click()
    assert Send.objects.get(pk=send.pk).status == Send.Status.PAUSED  # dismissed: no change


@pytest.mark.parametrize("width,height", [(768, 1024), (1024, 768)])
def test_it_fits_a_tablet_screen(live_server: Any, browser: Any, comms_user: User,
                                 issue: Issue, width: int, height: int,
                                 request: pytest.FixtureRequest) -> None:
    from tests.browser.conftest import ARTIFACTS

    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    steps = Steps(page, ARTIFACTS / f"tablet-{width}x{height}")
    send = planned_send(issue, comms_user, 2)
    sign_in(page, live_server.url, comms_user, steps)
    for name, path in [("issues", "/issues/"), ("editor", f"/issues/{issue.pk}/edit/"),
                       ("wizard", f"/issues/{issue.pk}/send/"), ("progress", f"/sends/{send.pk}/"),
                       ("report", f"/sends/{send.pk}/report/")]:
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        steps.shot(name)
    context.close()


def test_it_switches_the_interface_to_russian(live_server: Any, page: Any, steps: Steps,
                                              comms_user: User, issue: Issue) -> None:
    sign_in(page, live_server.url, comms_user, steps)
    page.get_by_label("Interface language").select_option("ru")
    page.get_by_role("link", name="Новый выпуск").wait_for()
    assert page.locator("html").get_attribute("lang") == "ru"
    page.goto(f"{live_server.url}/issues/{issue.pk}/edit/")
    page.get_by_role("tab", name="Простой текст").wait_for()
    steps.shot("editor-ru")
