"""Uploaded images, served by the app itself under MEDIA_URL in every mode.

Sent emails point at these URLs for years, so they must work with DEBUG off and no
proxy rules. Only image types are served (uploads are checked by content when stored,
and this refuses anything else that might land in MEDIA_ROOT), with their content
type, Last-Modified and a cache lifetime, and a CSP that lets a browser that opens one
directly run nothing in it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotModified,
)
from django.utils._os import safe_join
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

SERVED_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def media_path(name: str) -> tuple[Path, str]:
    """The file under MEDIA_ROOT and its content type, or Http404 (outside the root,
    missing, or not an image we serve)."""
    try:
        path = Path(safe_join(str(settings.MEDIA_ROOT), name))
    except SuspiciousFileOperation:
        raise Http404("No such file") from None
    content_type, _ = mimetypes.guess_type(path.name)
    if content_type not in SERVED_TYPES or not path.is_file():
        raise Http404("No such file")
    return path, content_type


@require_safe
def media_file(request: HttpRequest, name: str) -> HttpResponseBase:
    path, content_type = media_path(name)
    stat = path.stat()
    if not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), int(stat.st_mtime)):
        return HttpResponseNotModified()
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["Cache-Control"] = f"public, max-age={settings.MEDIA_CACHE_SECONDS}"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # mail clients embed these
    return response
