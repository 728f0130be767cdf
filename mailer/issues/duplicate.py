"""Start the next issue from an earlier one: every language, the layout and the blocks,
with the number moved on and today's date, as a new draft that was never sent."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from mailer.issues.models import Issue, IssueVariant

FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?\n)---\n", re.S)


def front_matter_advance(source: str, *, number: int | None, today: date) -> str:
    """The source with ``number:`` and ``date:`` of its front matter replaced (the body,
    comments and every other key are left exactly as written)."""
    match = FRONT_MATTER.match(source)
    if match is None:
        return source
    meta = match.group("meta")
    if number is not None:
        meta = re.sub(r"(?m)^number:[^\n]*$", f"number: {number}", meta)
    meta = re.sub(r"(?m)^date:[^\n]*$", f"date: {today.isoformat()}", meta)
    return f"---\n{meta}---\n" + source[match.end():]


def _free_slug(base: str) -> str:
    base = base[:90] or "issue"
    slug, n = base, 2
    while Issue.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def issue_duplicate(original: Issue, *, user: Any = None,
                    today: date | None = None) -> Issue:
    """A new draft issue with a copy of each variant of ``original``."""
    today = today or date.today()
    number = original.number + 1 if original.number else None
    with transaction.atomic():
        copy = Issue.objects.create(
            slug=_free_slug(slugify(f"{original.title} {number or 'copy'}")),
            title=original.title, number=number, date=today,
            default_language=original.default_language, created_by=user,
        )
        IssueVariant.objects.bulk_create(
            IssueVariant(issue=copy, language=v.language, subject=v.subject, preheader=v.preheader,
                         from_name=v.from_name,
                         source_markdown=front_matter_advance(v.source_markdown, number=number,
                                                              today=today))
            for v in original.variants.all()
        )
    return copy
