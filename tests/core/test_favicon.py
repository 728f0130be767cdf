"""Every page names an icon, and /favicon.ico answers (it was a 404 on every page)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


def test_favicon_ico_redirects_to_the_icon() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/web/favicon.png"
    assert finders.find("web/favicon.png") and finders.find("web/favicon.svg")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/archive/", "/admin/login/"])
def test_pages_link_the_icon(path: str) -> None:
    content = Client().get(path).content.decode()
    assert '<link rel="icon" href="/static/web/favicon.svg"' in content
