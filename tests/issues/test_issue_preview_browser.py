"""Headless Chromium: the staff preview page shows desktop and phone frames side by side,
and in the phone frame the statistics columns stack."""

from __future__ import annotations

import shutil

import pytest

from tests.issues.test_issue_browser import ARTIFACTS, CHROMIUM, _local_file

pytestmark = [pytest.mark.browser]


@pytest.fixture
def page(live_server, client, staff, seed_issue):
    # All database work happens before Playwright starts its event loop in this thread.
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    client.force_login(staff)
    session = client.cookies["sessionid"].value
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])
        context = browser.new_context(viewport={"width": 1100, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        tab = context.new_page()
        tab.route("**/*.png", lambda route: route.fulfill(
            path=str(_local_file(route.request.url)), content_type="image/png")
            if _local_file(route.request.url) else route.abort())
        yield tab
        browser.close()


def test_preview_page_shows_both_widths_side_by_side(page, live_server, seed_issue):
    page.goto(f"{live_server.url}/issues/{seed_issue.pk}/preview/?lang=ru", wait_until="load")
    frames = page.query_selector_all("iframe")
    boxes = [f.bounding_box() for f in frames]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview-page.png"))
    assert [round(b["width"]) for b in boxes if b] == [602, 377]  # 600/375 + 1px border
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] > boxes[0]["x"] + 600


def test_phone_frame_stacks_the_statistics(page, live_server, seed_issue):
    page.goto(f"{live_server.url}/issues/{seed_issue.pk}/preview/", wait_until="load")
    phone = page.frames[2]
    boxes = [el.bounding_box() for el in phone.query_selector_all(".stat-column")]
    desktop = [el.bounding_box() for el in page.frames[1].query_selector_all(".stat-column")]
    assert len({round(b["y"]) for b in desktop if b}) == 1
    assert len({round(b["y"]) for b in boxes if b}) == 3
