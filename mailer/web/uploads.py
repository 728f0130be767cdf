"""A checked CSV kept on the server, so "Import these rows" needs no second upload (issue 12).

The file is stored under ``VAR_DIR/web-imports/`` with a random name, readable by the
service's user only. The page carries just a signed reference that names the file and
the staff member who uploaded it and expires after ``KEEP_SECONDS``: another account, an
edited form or a stale page cannot import it. The file is deleted once imported (or found
unreadable), and files older than ``KEEP_SECONDS`` are swept whenever another is kept, so
an abandoned check leaves nothing behind for long.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from mailer.errors import MailerError

KEEP_SECONDS = 3600
SALT = "mailer.web.uploads"
_TOKEN = re.compile(r"[0-9a-f]{32}")


class UploadGone(MailerError):
    """The kept file is missing, expired, or was not uploaded by this user."""


@dataclass(frozen=True)
class KeptUpload:
    path: Path
    name: str  # the file name as uploaded, for the page and the audit trail
    reference: str  # signed; safe to put in a form


def _directory() -> Path:
    folder = Path(settings.VAR_DIR) / "web-imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def upload_keep(upload: UploadedFile, *, user_id: int) -> KeptUpload:
    """Store ``upload`` (already size-checked by the form) and sign a reference to it."""
    uploads_sweep()
    token = secrets.token_hex(16)
    path = _directory() / f"{token}.csv"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    name = (upload.name or "upload.csv")[:200]
    reference = signing.dumps({"f": token, "u": user_id, "n": name}, salt=SALT)
    return KeptUpload(path, name, reference)


def upload_find(reference: str, *, user_id: int) -> KeptUpload:
    """The kept file ``reference`` names. Raises ``UploadGone`` if the reference is forged,
    older than ``KEEP_SECONDS``, another user's, or its file is gone."""
    try:
        data = signing.loads(reference, salt=SALT, max_age=KEEP_SECONDS)
    except signing.SignatureExpired:
        raise UploadGone(_("the checked file was kept for an hour and has expired")) from None
    except signing.BadSignature:
        raise UploadGone(_("the reference to the checked file is not valid")) from None
    token = str(data.get("f", ""))
    if data.get("u") != user_id or not _TOKEN.fullmatch(token):
        raise UploadGone(_("the checked file was uploaded by someone else"))
    path = _directory() / f"{token}.csv"
    if not path.is_file():
        raise UploadGone(_("the checked file was already imported or has expired"))
    return KeptUpload(path, str(data.get("n", "")), reference)


def upload_discard(kept: KeptUpload) -> None:
    kept.path.unlink(missing_ok=True)


def uploads_sweep(*, now: float | None = None) -> int:
    """Delete kept files older than ``KEEP_SECONDS``; returns how many were deleted."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for path in _directory().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another request swept it first
            continue
    return removed
