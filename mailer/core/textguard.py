"""One guard against control characters in anything a request or a file brings in.

NUL cannot be stored in a PostgreSQL text or jsonb value (the database raises, the user
saw a 500), and the other C0 controls have no business in names, attributes or Markdown:
at best they are invisible, at worst they split a header. Tab, line feed and carriage
return are text and stay. The middleware refuses a request carrying one with a 4xx that
names the field; the CSV importer and the API use ``control_character_find`` directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_FIELD_SHOWN = 60


def control_character_find(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field path, the character) of the first control character in a string, or in any
    key or value of nested dicts and lists; None if there is none."""
    if isinstance(value, str):
        found = CONTROL.search(value)
        return (path, found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            hit = control_character_find(str(key), where) or control_character_find(item, where)
            if hit:
                return hit
    if isinstance(value, list):
        for i, item in enumerate(value):
            hit = control_character_find(item, f"{path}[{i}]")
            if hit:
                return hit
    return None


def control_character_message(field: str, char: str) -> str:
    shown = CONTROL.sub("?", field)[:MAX_FIELD_SHOWN] or "(a field name)"
    return (f"{shown} contains a control character (U+{ord(char):04X}), which cannot be "
            "stored; remove it and send again. Nothing was saved.")


class ControlCharacterGuard:
    """Refuses POST/PUT/PATCH form fields and JSON bodies with a control character: 422 with
    ``{"detail": ...}`` under ``/api/``, a plain-text 400 elsewhere. Uploaded files are
    not looked at here (the CSV importer checks its cells itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        hit = control_character_find(dict(request.GET.lists()))
        if hit is None and request.method in ("POST", "PUT", "PATCH"):
            hit = self._body_hit(request)
        if hit is None:
            return self.get_response(request)
        field, char = hit
        message = control_character_message(field.removesuffix("[0]"), char)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=422)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _body_hit(request: HttpRequest) -> tuple[str, str] | None:
        if request.content_type == "application/json":
            try:
                return control_character_find(json.loads(request.body or b"null"))
            except ValueError:
                return None  # not JSON: the view answers that
        return control_character_find(dict(request.POST.lists()))
