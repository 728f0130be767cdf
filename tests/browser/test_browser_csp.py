"""The staff CSP blocks nothing the app needs: the admin (segment live count), the API docs,
the language switch and the editor's live preview work, and Chromium reports no CSP
violation on them (issue 10, item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from mailer.issues.models import Issue
from tests.browser.conftest import Steps
from tests.browser.test_browser_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _violations(page: Any) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    return found


def test_the_admin_api_docs_and_editor_work_under_the_staff_policy(
        live_server: Any, page: Any, steps: Steps, admin_user: User, issue: Issue) -> None:
    violations = _violations(page)
    base = live_server.url
    sign_in(page, base, admin_user, steps)

    page.goto(f"{base}/admin/subscribers/segment/add/")
    page.locator("#id_rule").fill("language = en")
    page.locator("#segment-count").get_by_text("People who match:").wait_for()
    steps.shot("admin-segment-live-count")

    page.goto(f"{base}/api/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    steps.shot("api-docs")

    page.goto(f"{base}/issues/{issue.pk}/edit/")
    page.get_by_label("Issue number").fill("7")
    page.locator("#render-state").get_by_text("Preview updated").wait_for()
    assert "DIRECT ASSISTANCE" in page.frame_locator("#frame-desktop").locator("body").inner_text()

    page.select_option("#ui-language", "ru")
    page.wait_for_load_state("load")
    page.locator("html[lang=ru]").wait_for()
    steps.shot("editor-in-russian", full_page=False)
    assert violations == []


def test_an_injected_inline_script_does_not_run_on_a_staff_page(
        live_server: Any, page: Any, steps: Steps, admin_user: User) -> None:
    violations = _violations(page)
    sign_in(page, live_server.url, admin_user, steps)
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = true'; document.body.appendChild(s); }""")
    assert page.evaluate("window.__injected === true") is False
    assert violations  # Chromium reports the refused script
