"""The archive's Atom feed (RFC 4287): one entry per public issue and language variant,
each linking to its page in the archive."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from mailer.brand.services import brand_current, brand_look
from mailer.issues.archive import ArchivedIssue


class ArchiveFeed(Atom1Feed):
    """Atom with each entry's language (``xml:lang``, RFC 4287 §2): the feed mixes the
    English and Russian variants of each issue."""

    def item_attributes(self, item: dict[str, Any]) -> dict[str, str]:
        return {"xml:lang": item["language"]}


def entry_id(issue_slug: str, language: str, published: Any) -> str:
    """A tag URI (RFC 4151) that stays the same however often the feed is rebuilt."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"tag:{host},{published:%Y-%m-%d}:/archive/{issue_slug}/{language}"


def archive_feed(issues: list[ArchivedIssue]) -> ArchiveFeed:
    site = settings.SITE_URL.rstrip("/")
    language = translation.get_language() or settings.LANGUAGE_CODE
    look = brand_look(brand_current(), language)
    feed = ArchiveFeed(
        title=_("%(name)s: newsletter archive") % {"name": look.name},
        link=f"{site}/archive/", feed_url=f"{site}/archive/feed/",
        description="", language=language, author_name=look.name,
        feed_guid=f"{site}/archive/")
    for archived in issues:
        for variant in archived.variants:
            link = f"{site}/archive/{archived.issue.slug}/{variant.language}/"
            updated = max(archived.published, variant.updated_at)
            feed.add_item(
                title=variant.subject or archived.issue.title, link=link,
                description=escape(variant.preheader),
                pubdate=archived.published, updateddate=updated,
                unique_id=entry_id(archived.issue.slug, variant.language, archived.published),
                language=variant.language)
    return feed
