"""Template chrome is translated through Django's gettext; <html lang> follows the variant."""

from __future__ import annotations

import datetime as dt
import gettext
import re

import pytest

from tests.rendering.conftest import RECIPIENT, ROOT, Elements, issue, render

LOCALE = ROOT / "mailer" / "issues" / "locale"
PO = LOCALE / "ru" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "ru" / "LC_MESSAGES" / "django.mo"


def _po_entries_with_context() -> dict[tuple[str, str], str]:
    """(context or "", msgid) -> msgstr for the one-line entries of the catalogue."""
    pattern = r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"\nmsgstr "(.*)"$'
    return {(ctx, msgid): msgstr
            for ctx, msgid, msgstr in re.findall(pattern, PO.read_text("utf-8"), re.M)}


def _po_entries() -> dict[str, str]:
    """msgid -> msgstr of the entries without a context (what templates use)."""
    return {msgid: msgstr for (ctx, msgid), msgstr in _po_entries_with_context().items() if not ctx}


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["View in browser", "Unsubscribe", "Manage preferences", "Issue №3, 10 July 2020"]),
    ("ru", ["Открыть в браузере", "Отписаться", "Настройки подписки", "Выпуск №3, 10 июля 2020"]),
])
def test_chrome_is_in_the_variant_language(language, words):
    compiled = render(issue("Body", number="3", date="2020-07-10"), language)
    html_text = Elements(compiled.html.render(RECIPIENT, escape_html=True)).text
    text = compiled.text.render(RECIPIENT, escape_html=False)
    for word in words:
        assert word in html_text and word in text


def test_html_lang_is_the_variant_language():
    compiled = render(issue("Body"), "ru")
    assert Elements(compiled.html.source).all("html")[0]["lang"] == "ru"


def test_every_chrome_string_in_the_email_templates_has_a_russian_translation():
    sources = [p.read_text("utf-8") for p in (ROOT / "templates" / "email").rglob("*.j2")]
    used = {m for s in sources for m in re.findall(r'_\("([^"]+)"\)', s)}
    entries = _po_entries()
    assert used and all(entries.get(m) for m in used)


def test_the_committed_mo_matches_the_po():
    with MO.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    for (ctx, msgid), msgstr in _po_entries_with_context().items():
        assert (catalogue.pgettext(ctx, msgid) if ctx else catalogue.gettext(msgid)) == msgstr


def test_dates_use_the_variant_language():
    from mailer.rendering.mjml_build import date_display

    assert date_display(dt.date(2020, 7, 10), "ru") == "10 июля 2020"
