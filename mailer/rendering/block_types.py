"""The blocks an issue is made of: what the MJML and the text builders both read.

Flow blocks (headings, paragraphs, lists...) are grouped into ``Prose``; the others
come from the ``:::`` block extensions (see docs/issue-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from markupsafe import Markup

from mailer.rendering.inline import Inline


@dataclass(frozen=True)
class Heading:
    kind: ClassVar[str] = "heading"
    level: int
    content: Inline


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    content: Inline


@dataclass(frozen=True)
class ListItem:
    content: Inline
    depth: int = 0


@dataclass(frozen=True)
class BulletList:
    kind: ClassVar[str] = "list"
    ordered: bool
    items: list[ListItem]


@dataclass(frozen=True)
class Quote:
    kind: ClassVar[str] = "quote"
    paragraphs: list[Inline]


@dataclass(frozen=True)
class Code:
    kind: ClassVar[str] = "code"
    text: str


@dataclass(frozen=True)
class RawHtml:
    kind: ClassVar[str] = "raw_html"
    html: Markup
    text: str


Flow = Heading | Paragraph | BulletList | Quote | Code | RawHtml


@dataclass(frozen=True)
class Prose:
    """Consecutive flow blocks, rendered as one MJML section to keep the HTML small."""

    kind: ClassVar[str] = "prose"
    blocks: list[Flow]


@dataclass(frozen=True)
class Photo:
    kind: ClassVar[str] = "photo"
    src: str
    alt: str
    href: str | None = None
    caption: list[Inline] = field(default_factory=list)
    credit: str = ""


@dataclass(frozen=True)
class Stat:
    value: str
    label: Inline


@dataclass(frozen=True)
class Stats:
    kind: ClassVar[str] = "stats"
    title: str
    intro: list[Flow]
    items: list[Stat]
    notes: list[Flow]


@dataclass(frozen=True)
class Callout:
    kind: ClassVar[str] = "callout"
    body: list[Flow]


@dataclass(frozen=True)
class Button:
    kind: ClassVar[str] = "button"
    href: str
    label: str


@dataclass(frozen=True)
class Contact:
    label: str
    content: Inline


@dataclass(frozen=True)
class Contacts:
    kind: ClassVar[str] = "contacts"
    title: str
    intro: list[Flow]
    entries: list[Contact]
    notes: list[Flow]

    @property
    def rows(self) -> list[list[Contact]]:
        """Entries two to a row; the MJML columns stack on a phone."""
        return [self.entries[i:i + 2] for i in range(0, len(self.entries), 2)]


@dataclass(frozen=True)
class SocialLink:
    network: str
    label: str
    href: str


@dataclass(frozen=True)
class Social:
    kind: ClassVar[str] = "social"
    title: str
    links: list[SocialLink]


@dataclass(frozen=True)
class Divider:
    kind: ClassVar[str] = "divider"


Block = Prose | Photo | Stats | Callout | Button | Contacts | Social | Divider
