"""What the audience app's own mails say, rendered like issues: each mail is a small issue
source (front matter + Markdown) compiled by ``compile_issue`` into the same MJML layout
and chrome as newsletters, with an HTML and a text part.

Compiled once per (kind, list, language, revision) and kept in a small per-process cache,
so a burst of subscriptions does not compile MJML per mail; the revision is a digest of
the source and the chrome, so an edited welcome text or brand is picked up at once. Per
person only the merge values are filled in (``MergeTemplate.render``, HTML-escaped), plus
the confirmation token, which only this module knows about.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from mailer.issues.services import chrome_context
from mailer.rendering import MergeTemplate, RenderError, compile_issue, parse_issue
from mailer.rendering.findings import Finding
from subscribers.models import MailingList, TransactionalMail
from subscribers.services import name_clean
from subscribers.tokens import CONFIRM_MAX_AGE_DAYS

Kind = TransactionalMail.Kind
# Stands in for the person's confirmation token while the mail is compiled once for all:
# plain letters, so Markdown, the URL policy and the sanitiser leave it as it is.
TOKEN_MARK = "confirmtokenmarkq7"  # noqa: S105  (a placeholder, not a secret)
CACHE_SIZE = 256
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#+\-.!<>|~&:])")


@dataclass(frozen=True)
class MailTemplate:
    """A compiled mail: the same for everyone it goes to, merge tags still in place."""

    subject: str
    html: MergeTemplate
    text: MergeTemplate

    def render(self, values: Mapping[str, str], *, token: str = "") -> tuple[str, str]:
        """(HTML, text) for one person; merge values and the token are escaped in HTML."""
        body_html = self.html.render(values, escape_html=True)
        body_text = self.text.render(values, escape_html=False)
        if token:
            body_html = body_html.replace(TOKEN_MARK, html.escape(token, quote=True))
            body_text = body_text.replace(TOKEN_MARK, token)
        return body_html, body_text


_cache: OrderedDict[tuple[str, int, str, str], MailTemplate] = OrderedDict()
_cache_lock = threading.Lock()


def mail_compiled(kind: str, list_id: int, language: str, source: str) -> MailTemplate:
    """``source`` compiled in the default layout, from the cache when the same (kind, list,
    language) was compiled from the same source and chrome. Raises ``RenderError``."""
    chrome = chrome_context()
    revision = hashlib.sha256(f"{source}\0{chrome!r}".encode()).hexdigest()[:20]
    key = (kind, list_id, language, revision)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    compiled = compile_issue(parse_issue(source), language=language, context=chrome)
    template = MailTemplate(compiled.subject, compiled.html, compiled.text)
    with _cache_lock:
        _cache[key] = template
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return template


def md_text(value: str) -> str:
    """A staff-typed name (of a list) as literal Markdown text on one line: no markup, no
    template braces (which the renderer would refuse as template code)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", name_clean(value))


def _front_matter(language: str, **fields: str) -> str:
    return "---\n" + yaml.safe_dump({**fields, "lang": language}, allow_unicode=True,
                                    sort_keys=False, width=1000) + "---\n"


def confirmation_source(mlist: MailingList, language: str) -> str:
    """The double opt-in mail: one button, the bare link in the text part."""
    name = name_clean(mlist.name)
    with translation.override(language):
        head = _front_matter(
            language,
            title=_("Confirm your subscription"),
            subject=_("Confirm your subscription to %(name)s") % {"name": name},
            preheader=_("One click and you will receive %(name)s. If you did not ask for "
                        "it, ignore this email.") % {"name": name})
        asked = _("Someone, probably you, asked to subscribe %(email)s to %(name)s.") % {
            "email": "{{ email }}", "name": f"**{md_text(mlist.name)}**"}
        return head + "\n".join([
            asked, "",
            f'::: button href="/confirm/{TOKEN_MARK}/"',
            _("Yes, subscribe me"), ":::", "",
            _("The link works for %(days)s days. If you did not ask for this, ignore this "
              "email: you will not be subscribed.") % {"days": CONFIRM_MAX_AGE_DAYS},
            ""])


def preferences_link_source(language: str) -> str:
    """A fresh preferences link, asked for from an unsubscribe page."""
    with translation.override(language):
        head = _front_matter(
            language,
            title=_("Your newsletter preferences"),
            subject=_("Your link to change your newsletter preferences"),
            preheader=_("Change which of our newsletters you receive, or unsubscribe from all "
                        "of them."))
        return head + "\n".join([
            _("Someone, probably you, asked for a link to change which of our newsletters "
              "this address receives, or to unsubscribe from all of them."), "",
            '::: button href="{{ preferences_url }}"', _("Open my preferences"), ":::", "",
            _("If you did not ask for this, ignore this email: nothing was changed."), ""])


@dataclass(frozen=True)
class PreferencesChange:
    """What a save of the preferences page changed; empty if nothing did."""

    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    language: str = ""  # the new language's code, if it changed
    name_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.language or self.name_changed)

    def as_detail(self) -> dict[str, object]:
        return {"joined": list(self.joined), "left": list(self.left),
                "language": self.language, "name_changed": self.name_changed}

    @classmethod
    def from_detail(cls, detail: Mapping[str, object]) -> PreferencesChange:
        def names(key: str) -> tuple[str, ...]:
            value = detail.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()
        return cls(joined=names("joined"), left=names("left"),
                   language=str(detail.get("language") or ""),
                   name_changed=bool(detail.get("name_changed")))


def preferences_changed_source(change: PreferencesChange, language: str) -> str:
    """A short summary of the change, with a way back to the preferences page. The new
    name is merged per person (``{{ name }}``), never compiled into the cached template."""
    languages = dict(settings.LANGUAGES)
    with translation.override(language):
        head = _front_matter(
            language,
            title=_("Your preferences were changed"),
            subject=_("Your newsletter preferences were changed"),
            preheader=_("A summary of what you changed on your preferences page, and a link "
                        "back to it."))
        lines = [_("These changes to what %(email)s receives were saved:")
                 % {"email": "{{ email }}"}, ""]
        if change.joined:
            lines.append("- " + _("Subscribed to: %(lists)s")
                         % {"lists": ", ".join(md_text(n) for n in change.joined)})
        if change.left:
            lines.append("- " + _("Unsubscribed from: %(lists)s")
                         % {"lists": ", ".join(md_text(n) for n in change.left)})
        if change.language:
            lines.append("- " + _("Language: %(language)s") % {
                "language": md_text(str(languages.get(change.language, change.language)))})
        if change.name_changed:
            lines.append("- " + _("Name: %(name)s") % {"name": "{{ name }}"})
        return head + "\n".join([
            *lines, "",
            '::: button href="{{ preferences_url }}"', _("Review my preferences"), ":::", "",
            _("If you did not make these changes, open your preferences and change them "
              "back; nobody can change them without a link sent to this address."), ""])


def welcome_source(mlist: MailingList, language: str) -> tuple[str, str]:
    """(source, its language): the list's welcome text in ``language``, else in the other
    language that has one; ("", "") when the list has no welcome mail."""
    sources = {"en": mlist.welcome_en.strip(), "ru": mlist.welcome_ru.strip()}
    if sources.get(language):
        return sources[language], language
    for code, source in sources.items():
        if source:
            return source, code
    return "", ""


def welcome_check(source: str, language: str) -> list[Finding]:
    """Render a welcome source as it would be sent; raises ``RenderError`` with the
    renderer's findings (bad front matter, template code, unsafe links) if it cannot be.
    Returns the warnings."""
    compiled = compile_issue(parse_issue(source), language=language, context=chrome_context())
    return compiled.findings


__all__ = [
    "TOKEN_MARK", "Kind", "MailTemplate", "PreferencesChange", "RenderError",
    "confirmation_source", "mail_compiled", "preferences_changed_source",
    "preferences_link_source", "welcome_check", "welcome_source",
]
