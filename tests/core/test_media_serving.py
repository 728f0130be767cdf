"""Uploaded images are served by the app in every mode: sent emails point at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def media_root(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "library").mkdir(parents=True)
    (tmp_path / "media" / "library" / "photo.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("outside the media root")
    return tmp_path / "media"


def test_it_serves_an_image_with_its_type_and_cache_headers(client: Client, media_root: Path,
                                                           settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/media/library/photo.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == f"public, max-age={settings.MEDIA_CACHE_SECONDS}"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == PNG  # type: ignore[attr-defined]


def test_it_answers_not_modified_to_a_revalidation(client: Client, media_root: Path) -> None:
    first = client.get("/media/library/photo.png")
    again = client.get("/media/library/photo.png", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304


def test_it_refuses_paths_outside_the_media_root(client: Client, media_root: Path) -> None:
    assert client.get("/media/../secret.txt").status_code == 404
    assert client.get("/media/%2e%2e/secret.txt").status_code == 404


def test_it_serves_only_images(client: Client, media_root: Path) -> None:
    (media_root / "library" / "page.html").write_text("<script>alert(1)</script>")
    (media_root / "library" / "icon.svg").write_text("<svg onload='alert(1)'/>")
    assert client.get("/media/library/page.html").status_code == 404
    assert client.get("/media/library/icon.svg").status_code == 404


def test_it_refuses_to_change_a_file(client: Client, media_root: Path) -> None:
    assert client.post("/media/library/photo.png").status_code == 405
    assert (media_root / "library" / "photo.png").read_bytes() == PNG


def test_a_missing_file_is_404(client: Client, media_root: Path) -> None:
    assert client.get("/media/library/nothing.png").status_code == 404
