"""The media library: images staff upload for issues, checked by content, not by name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from mailer.web.models import MediaAsset

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Leading bytes of the formats email clients display; SVG is refused (it can carry script).
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]


class MediaRejected(ValueError):
    """The upload is not an image we accept; the message says why and what to do."""


def image_kind(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def media_store(upload: UploadedFile, *, alt_text: str, user: Any) -> MediaAsset:
    if (upload.size or 0) > MAX_IMAGE_BYTES:
        raise MediaRejected(_("The image is larger than 5 MB; resize it (600 px wide is enough "
                              "for email) and upload it again."))
    head = upload.read(16)
    upload.seek(0)
    kind = image_kind(head)
    if kind is None:
        raise MediaRejected(_("This file is not a PNG, JPEG, GIF or WebP image; nothing was saved."))
    content_type, ext = kind
    stem = (upload.name or "image").rsplit("/", 1)[-1].rsplit(".", 1)[0][:60] or "image"
    upload.name = f"{stem}.{ext}"
    return MediaAsset.objects.create(file=upload, content_type=content_type,
                                     alt_text=alt_text, uploaded_by=user)


def media_absolute_url(asset: MediaAsset) -> str:
    """Email clients fetch images from the public site, so links are absolute."""
    return settings.SITE_URL.rstrip("/") + asset.file.url


def media_markdown(asset: MediaAsset) -> str:
    alt = asset.alt_text.replace("]", "").replace("[", "") or "image"
    return f"![{alt}]({media_absolute_url(asset)})"
