"""``brand`` in every Django template: the public pages' header, footer and colours.
Lazy, so pages that never print it (the staff app) cost no query."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from mailer.brand.services import brand_current, brand_look


def brand(request: HttpRequest) -> dict[str, object]:
    language = translation.get_language() or "en"
    return {"brand": SimpleLazyObject(lambda: brand_look(brand_current(), language))}
