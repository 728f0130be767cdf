"""One date format per language across the staff app (it once mixed "12/03/2026 1:45 p.m."
and "Dec. 3, 2026")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

MOMENT = datetime(2026, 12, 3, 13, 45, tzinfo=ZoneInfo("Asia/Almaty"))
FORMATS = ["DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"]


def rendered(fmt: str) -> str:
    return Template(f'{{{{ moment|date:"{fmt}" }}}}').render(Context({"moment": MOMENT}))


@pytest.mark.parametrize("fmt", FORMATS)
def test_english_pages_write_every_date_time_the_same_way(fmt: str) -> None:
    with translation.override("en"):
        assert rendered(fmt) == "3 Dec 2026, 13:45"


@pytest.mark.parametrize("fmt", FORMATS)
def test_russian_pages_write_every_date_time_the_same_way(fmt: str) -> None:
    with translation.override("ru"):
        assert rendered(fmt) == "3 декабря 2026 г., 13:45"


def test_a_plain_date_filter_uses_the_same_style() -> None:
    with translation.override("en"):
        assert Template("{{ moment|date }}").render(Context({"moment": MOMENT})) == "3 Dec 2026"
