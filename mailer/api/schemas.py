"""Request and response bodies of the API (pydantic, via django-ninja)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field
from ninja import Schema as BaseSchema
from pydantic import model_validator

Slug = str
LANGUAGE = Field(default="en", pattern=r"^[a-z]{2,3}$")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Schema(BaseSchema):
    @model_validator(mode="before")
    @classmethod
    def no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text or JSON; refuse it here with a 422.
        if _has_nul(data):
            raise ValueError("text must not contain NUL (U+0000) characters")
        return data


class Error(Schema):
    detail: str


class SubscriptionOut(Schema):
    list: Slug
    status: str


class SubscriberIn(Schema):
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    organisation: str = Field(default="", max_length=200)
    country: str = Field(default="", pattern=r"^([A-Za-z]{2})?$")
    language: str = LANGUAGE
    attributes: dict[str, Any] = Field(default_factory=dict)
    lists: list[Slug] = Field(default_factory=list, max_length=50,
                              description="Lists to subscribe to (confirmed, consent by API)")


class SubscriberPatch(Schema):
    name: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, pattern=r"^([A-Za-z]{2})?$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    attributes: dict[str, Any] | None = None


class SubscriberOut(Schema):
    id: int
    email: str
    name: str
    organisation: str
    country: str
    language: str
    attributes: dict[str, Any]
    status: str
    subscriptions: list[SubscriptionOut]


class SubscriptionIn(Schema):
    list: Slug = Field(max_length=64)
    status: Literal["confirmed", "unsubscribed"] = "confirmed"


class ListOut(Schema):
    id: int
    slug: Slug
    name: str
    kind: str
    confirmed: int


class SegmentOut(Schema):
    id: int
    slug: Slug
    name: str
    rule: str


class SegmentCount(Schema):
    slug: Slug
    count: int


class IssueIn(Schema):
    markdown: str = Field(min_length=1, max_length=500_000,
                          description="Markdown with optional YAML front matter")
    language: str = LANGUAGE
    slug: str | None = Field(default=None, pattern=r"^[-a-z0-9_]{1,100}$")


class IssueOut(Schema):
    id: int
    slug: str
    title: str
    number: int | None
    date: date | None
    status: str
    languages: list[str]


class PreviewIn(Schema):
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    markdown: str | None = Field(default=None, max_length=500_000,
                                 description="Unsaved text to render; default: the saved one")


class FindingOut(Schema):
    level: str
    code: str
    message: str


class PreviewOut(Schema):
    ok: bool
    subject: str
    preheader: str
    html: str
    text: str
    size_bytes: int
    findings: list[FindingOut]


class SendIn(Schema):
    issue_id: int = Field(ge=1, le=2**31 - 1)
    lists: list[Slug] = Field(min_length=1, max_length=50)
    excluded_lists: list[Slug] = Field(default_factory=list, max_length=50)
    segment: Slug | None = None
    scheduled_at: datetime | None = None
    route: Slug | None = Field(default=None, description="SMTP route name; default: SMTP_URL")


class SendStart(Schema):
    confirm_count: int = Field(ge=0, description="Must equal the current recipient count")


class SendOut(Schema):
    id: int
    issue_id: int
    status: str
    status_reason: str
    recipients: int = Field(description="Planned rows once started; the current count for a draft")
    awaiting_approval: bool
    scheduled_at: datetime | None
    route: str | None = Field(description="SMTP route name; null: the default route")
    progress: dict[str, Any]


class LinkOut(Schema):
    url: str
    clicks_unique: int
    clicks_total: int


class BreakdownOut(Schema):
    value: str
    delivered: int
    opens_unique: int
    clicks_unique: int


class EngagementOut(Schema):
    """People's opens and clicks (scanners and Apple's proxy apart); a click is an open."""

    send_id: int | None = Field(None, description="null for an issue across its sends")
    tracking_mode: str
    delivered: int
    opens_unique: int
    opens_machine: int
    opens_privacy_proxy: int
    clicks_unique: int
    clicks_total: int
    clicks_machine: int
    open_rate: float | None
    click_rate: float | None
    click_to_open: float | None
    unsubscribes: int
    bounces: int
    complaints: int
    links: list[LinkOut]
    by_list: list[BreakdownOut]
    by_language: list[BreakdownOut]
    by_country: list[BreakdownOut]
