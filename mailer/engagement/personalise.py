"""Tracking at personalisation time: click links and the open pixel as merge values.

A variant's compiled parts are rewritten once per send (``parts_track``): every
``href`` to an http(s) URL in a literal part becomes a merge field ``link_<id>`` whose
default is the URL itself, the same URLs in the text part become the same fields, and a
1x1 pixel goes before ``</body>``. Unsubscribe, preferences and web-version URLs are
merge fields already and stay untouched, as does ``List-Unsubscribe`` (a header, built
from ``unsubscribe_url``). Per recipient, one signed token fills every field.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings

from mailer.engagement.models import TrackedLink
from mailer.engagement.modes import TrackingMode, most_private
from mailer.engagement.tokens import token_key, tracking_token
from mailer.rendering.merge import MergeField
from mailer.sending.models import Delivery, Send
from subscribers.models import Subscription

Parts = list[str | MergeField]
HREF = re.compile(r'(href=")(https?://[^"\s]+)(")', re.IGNORECASE)
TEXT_URL = re.compile(r"https?://[^\s<>()\[\]\"]+")
PIXEL_FIELD = "open_pixel"
PIXEL_BEFORE = "</body>"
PIXEL = ('<img src="', '" width="1" height="1" alt="" border="0" '
         'style="display:block;height:1px;width:1px;border:0;overflow:hidden">')
MODES_CHUNK = 500


def link_field(link_id: int) -> str:
    return f"link_{link_id}"


def _exempt(url: str) -> bool:
    """Our own subscriber pages are never wrapped, even when an author pasted one."""
    site = settings.SITE_URL.rstrip("/")
    return any(url.startswith(f"{site}{p}") for p in ("/u/", "/p/", "/t/"))


def links_register(issue_id: int, urls: Sequence[str]) -> dict[str, int]:
    """URL -> TrackedLink id for ``urls`` of the issue, creating missing rows. Safe when
    two workers register the same issue at once (the unique key decides)."""
    hashes = {u: hashlib.sha256(u.encode()).hexdigest() for u in set(urls)}
    TrackedLink.objects.bulk_create(
        [TrackedLink(issue_id=issue_id, url=u, url_hash=h) for u, h in hashes.items()],
        ignore_conflicts=True)
    by_hash = dict(TrackedLink.objects.filter(issue_id=issue_id, url_hash__in=hashes.values())
                   .values_list("url_hash", "pk"))
    return {u: by_hash[h] for u, h in hashes.items()}


def _split(parts: Sequence[str | MergeField], pattern: re.Pattern[str],
           ids: dict[str, int], *, unescape: bool) -> Parts:
    out: Parts = []
    for part in parts:
        if not isinstance(part, str):
            out.append(part)
            continue
        pos = 0
        for m in pattern.finditer(part):
            raw = m.group(2) if unescape else m.group(0)
            url = html.unescape(raw) if unescape else raw.rstrip(".,;:!?")
            if url not in ids:
                continue
            start = m.start(2) if unescape else m.start()
            out.append(part[pos:start])
            out.append(MergeField(link_field(ids[url]), url))
            pos = start + (len(raw) if unescape else len(url))
        out.append(part[pos:])
    return out


def _pixel_add(parts: Parts) -> Parts:
    for i in range(len(parts) - 1, -1, -1):
        part = parts[i]
        if isinstance(part, str) and PIXEL_BEFORE in part:
            at = part.rfind(PIXEL_BEFORE)
            return [*parts[:i], part[:at] + PIXEL[0], MergeField(PIXEL_FIELD, ""),
                    PIXEL[1] + part[at:], *parts[i + 1:]]
    return parts


def parts_track(issue_id: int, text_parts: Sequence[str | MergeField],
                html_parts: Sequence[str | MergeField]) -> tuple[Parts, Parts]:
    """(text, html) parts with tracked links and the pixel; the link ids are in the
    field names, so one token per recipient fills them all."""
    urls = [html.unescape(m.group(2)) for p in html_parts if isinstance(p, str)
            for m in HREF.finditer(p)]
    ids = links_register(issue_id, [u for u in urls if not _exempt(u)])
    tracked_html = _pixel_add(_split(html_parts, HREF, ids, unescape=True))
    return _split(text_parts, TEXT_URL, ids, unescape=False), tracked_html


def link_fields(parts: Sequence[str | MergeField]) -> list[str]:
    """The link fields of tracked parts, each once."""
    return list(dict.fromkeys(p.name for p in parts
                              if isinstance(p, MergeField) and p.name.startswith("link_")))


class SendTracking:
    """The tracking of one send as its messages are built: who gets which mode, and the
    merge values that carry the tokens."""

    def __init__(self, send: Send):
        self.send = send
        self.mode = send.tracking_mode or TrackingMode.OFF
        self.list_modes = dict(send.frozen_list_modes.values_list("mailing_list_id", "mode")) \
            if self.mode != TrackingMode.OFF else {}
        self.person_modes: dict[int, str] = {}
        # Read once: settings access and key derivation cost more than the HMAC itself.
        self.base = settings.SITE_URL.rstrip("/")
        self.key = token_key()

    def mode_for(self, delivery_id: int, subscriber_id: int) -> str:
        """The send's mode, made more private by any list the person is confirmed on."""
        if self.mode == TrackingMode.OFF or delivery_id <= 0:
            return TrackingMode.OFF
        if subscriber_id not in self.person_modes:
            self._modes_load(delivery_id, subscriber_id)
        return self.person_modes.get(subscriber_id, self.mode)

    def _modes_load(self, delivery_id: int, subscriber_id: int) -> None:
        """The modes of the next deliveries in id order, in two queries per chunk."""
        ids = list(Delivery.objects.filter(send_id=self.send.pk, id__gte=delivery_id)
                   .order_by("id").values_list("subscriber_id", flat=True)[:MODES_CHUNK])
        self.modes_prefetch([*ids, subscriber_id])

    def modes_prefetch(self, subscriber_ids: Sequence[int | None]) -> None:
        """Look up, in one query, the modes of these people (those not known yet): the
        sender calls it with the rows it has just claimed, so that ``mode_for`` finds
        them all without reading the ledger again."""
        if self.mode == TrackingMode.OFF:
            return
        lists: dict[int, list[str]] = {i: [self.mode] for i in subscriber_ids
                                       if i is not None and i not in self.person_modes}
        if not lists:
            return
        for sub_id, list_id, current in Subscription.objects.filter(
                subscriber_id__in=lists, status=Subscription.Status.CONFIRMED).values_list(
                "subscriber_id", "mailing_list_id", "mailing_list__tracking_mode"):
            # A list's mode as it was when the send was planned (lists made since: today's)
            lists[sub_id].append(self.list_modes.get(list_id, current))
        self.person_modes.update({i: most_private(m) for i, m in lists.items()})

    def values(self, delivery_id: int, mode: str, field_names: Sequence[str]) -> dict[str, str]:
        token = tracking_token(self.send.pk, delivery_id, mode, datetime.now(UTC), key=self.key)
        out = {PIXEL_FIELD: f"{self.base}/t/o/{token}.gif"}
        for name in field_names:
            out[name] = f"{self.base}/t/c/{token}/{name[5:]}/"
        return out
