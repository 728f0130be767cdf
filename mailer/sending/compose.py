"""Per-send message factory: compile each variant once, merge per recipient.

DESIGN.md invariant 1: MJML is compiled once per variant revision (by
``variant_compiled``); per recipient only merge values and a few headers change.
"""

from __future__ import annotations

from django.conf import settings

from mailer.engagement.modes import TrackingMode
from mailer.engagement.personalise import SendTracking, link_fields, parts_track
from mailer.issues.models import IssueVariant
from mailer.issues.services import variant_compiled, web_version_link
from mailer.sending.mime import BuiltMessage, MessageTemplate, Recipient
from mailer.sending.models import Send
from subscribers.models import MailingList
from subscribers.services import name_clean
from subscribers.tokens import preferences_token, unsubscribe_token


def unsubscribe_url(subscriber_id: int, list_id: int | None, send_id: int | None = None) -> str:
    """One-click URL; naming the send lets it leave every list of the send that reached
    the person, so the same issue does not keep arriving through another list."""
    return f"{settings.SITE_URL}/u/{unsubscribe_token(subscriber_id, list_id, send_id)}/"


def preferences_url(subscriber_id: int) -> str:
    return f"{settings.SITE_URL}/p/{preferences_token(subscriber_id)}/"


def web_url(issue_slug: str, language: str) -> str:
    return web_version_link(issue_slug, language)


def _plain(value: str) -> str:
    """One line, no template braces, no controls or bidi overrides: a subscriber-typed value
    must not carry ``{{ }}`` into a message where a relay or email service might expand it
    (STANDARDS row 24), nor a U+202E saved before names were cleaned (issue 10)."""
    return name_clean(value)


def merge_values(rcpt: Recipient, *, web: str, send_id: int | None = None) -> dict[str, str]:
    name = _plain(rcpt.name)
    return {
        "first_name": name.split()[0] if name else "",
        "name": name,
        "email": rcpt.email,
        "organisation": _plain(rcpt.organisation),
        "unsubscribe_url": unsubscribe_url(rcpt.subscriber_id, rcpt.list_id, send_id),
        "preferences_url": preferences_url(rcpt.subscriber_id),
        "web_url": web,
    }


class MessageFactory:
    """Builds the messages of one send. Holds one ``MessageTemplate`` per variant."""

    def __init__(self, send: Send):
        self.send = send
        self.issue_slug = send.issue.slug
        self.templates: dict[tuple[int, bool], tuple[MessageTemplate, str]] = {}
        self.tracking = SendTracking(send)
        self.link_fields: dict[int, list[str]] = {}
        self.list_slugs: dict[int, str] = dict(
            MailingList.objects.filter(sends=send).values_list("pk", "slug"))

    def template(self, variant_id: int, *, tracked: bool = False) -> tuple[MessageTemplate, str]:
        """(template, web-version URL) for the variant, compiled on first use; ``tracked``:
        with click links and the open pixel (mailer.engagement.personalise).
        Raises ``RenderError`` if the variant cannot be rendered."""
        if (variant_id, tracked) not in self.templates:
            variant = IssueVariant.objects.get(pk=variant_id)
            compiled = variant_compiled(variant)
            text_parts, html_parts = compiled.text.parts, compiled.html.parts
            if tracked:
                text_parts, html_parts = parts_track(self.send.issue_id, text_parts, html_parts)
                self.link_fields[variant_id] = link_fields(html_parts)
            template = MessageTemplate(
                send_id=self.send.pk, feedback_campaign=f"send{self.send.pk}",
                subject=variant.subject or compiled.subject or self.send.issue.title,
                from_name=variant.from_name, text_parts=text_parts, html_parts=html_parts,
                reply_to=variant.compiled_reply_to)
            self.templates[variant_id, tracked] = (
                template, web_url(self.issue_slug, variant.language))
        return self.templates[variant_id, tracked]

    def build(self, variant_id: int, rcpt: Recipient, *, smtp: bool = False) -> BuiltMessage:
        mode = self.tracking.mode_for(rcpt.delivery_id, rcpt.subscriber_id)
        template, web = self.template(variant_id, tracked=mode != TrackingMode.OFF)
        values = merge_values(rcpt, web=web, send_id=self.send.pk)
        if mode != TrackingMode.OFF:
            values.update(self.tracking.values(rcpt.delivery_id, mode,
                                               self.link_fields[variant_id]))
        return template.build(rcpt, values, smtp=smtp)

    def recipient(self, delivery_id: int, subscriber_id: int, email: str, name: str,
                  organisation: str, list_id: int | None) -> Recipient:
        return Recipient(delivery_id=delivery_id, subscriber_id=subscriber_id, email=email,
                         name=_plain(name), organisation=_plain(organisation), list_id=list_id,
                         list_slug=self.list_slugs.get(list_id or 0, ""))
