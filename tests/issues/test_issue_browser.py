"""Headless Chromium: the seed issue at desktop (600 px) and phone (375 px) widths.

Images are answered from the shipped files through Playwright routing, so nothing is
fetched from the network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailer.issues.demo_media import ICON_DIR, SOURCE_DIR
from tests.rendering.conftest import EXAMPLE_EN, RECIPIENT, ROOT, render

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "var" / "test-artifacts"


def _local_file(url: str) -> Path | None:
    name = url.rsplit("/", 1)[-1]
    for folder in (SOURCE_DIR, ICON_DIR):
        if (folder / name).is_file():
            return folder / name
    return None


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])
        yield instance
        instance.close()


def _boxes(browser, width: int) -> list[dict[str, float]]:
    html = render(EXAMPLE_EN.read_text("utf-8")).html.render(RECIPIENT, escape_html=True)
    page = browser.new_page(viewport={"width": width, "height": 900})

    def answer(route):
        path = _local_file(route.request.url)
        if path is None:
            route.abort()
        else:
            route.fulfill(path=str(path), content_type="image/png")

    page.route("**/*.png", answer)
    page.set_content(html, wait_until="load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"issue-{width}px.png"), full_page=True)
    boxes = [el.bounding_box() for el in page.query_selector_all(".stat-column")]
    images_loaded = page.evaluate(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.close()
    assert images_loaded
    return [b for b in boxes if b]


def test_stats_columns_sit_side_by_side_on_the_desktop_width(browser):
    boxes = _boxes(browser, 600)
    assert len(boxes) == 3
    assert len({round(b["y"]) for b in boxes}) == 1
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]


def test_stats_columns_stack_on_the_phone_width(browser):
    boxes = _boxes(browser, 375)
    assert len(boxes) == 3
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]
    assert boxes[1]["y"] + boxes[1]["height"] <= boxes[2]["y"]
    assert all(b["width"] > 300 for b in boxes)
