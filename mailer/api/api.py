"""The REST API: subscribers, lists, segments, issues and sends, with the staff app's rules.

Every operation names the capability it needs (``require``); a token acts with its
user's role. Errors use one shape, ``{"detail": "..."}``, saying what to change.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Path, Status
from ninja.errors import HttpError

from mailer.api.auth import TokenAuth, require
from mailer.api.schemas import (
    EngagementOut,
    Error,
    IssueIn,
    IssueOut,
    ListOut,
    PreviewIn,
    PreviewOut,
    SegmentCount,
    SegmentOut,
    SendIn,
    SendOut,
    SendStart,
    SubscriberIn,
    SubscriberOut,
    SubscriberPatch,
    SubscriptionIn,
)
from mailer.engagement.report import issue_engagement, send_engagement
from mailer.issues.models import Issue
from mailer.issues.services import issue_import
from mailer.rendering import RenderError
from mailer.sending import approval
from mailer.sending.models import Route, Send
from mailer.sending.planning import PlanError, audience_queryset, send_create
from mailer.sending.progress import send_progress
from mailer.web import controls
from mailer.web.editor import preview_render
from mailer.web.roles import Cap
from subscribers.models import MailingList, Segment, Subscriber, Subscription, email_hash
from subscribers.segments import SegmentError, segment_filter
from subscribers.services import (
    InvalidAddress,
    email_normalise,
    subscriber_erase,
    subscriber_find,
    subscription_set,
    text_clean,
)

api = NinjaAPI(title="Newsletter API", version="1", auth=TokenAuth(), urls_namespace="api",
               description="Token auth: `Authorization: Bearer <token>` (create one on your "
                           "account page). Permissions follow your role.")

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
SlugPath = Annotated[str, Path(pattern=r"^[-a-zA-Z0-9_]{1,64}$")]
ERRORS: dict[int, type[Error]] = {403: Error, 404: Error, 409: Error, 422: Error}


def _actor(request: HttpRequest) -> str:
    return f"api:{request.auth.get_username()}"  # type: ignore[attr-defined]


def _lists(slugs: list[str]) -> list[MailingList]:
    found = {m.slug: m for m in MailingList.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise HttpError(422, f"No list with slug {', '.join(missing)}; GET /api/lists shows them.")
    return [found[s] for s in dict.fromkeys(slugs)]


# --- Subscribers ---------------------------------------------------------------------

def _subscriber_out(sub: Subscriber) -> dict[str, Any]:
    subs = sub.subscriptions.select_related("mailing_list").order_by("mailing_list__slug")
    return {"id": sub.pk, "email": sub.email, "name": sub.name, "organisation": sub.organisation,
            "country": sub.country, "language": sub.language, "attributes": sub.attributes,
            "status": sub.status,
            "subscriptions": [{"list": s.mailing_list.slug, "status": s.status} for s in subs]}


@api.post("/subscribers", response={201: SubscriberOut, **ERRORS}, tags=["subscribers"])
def subscriber_create(request: HttpRequest, body: SubscriberIn) -> Status[dict[str, Any]]:
    require(request, Cap.MANAGE_AUDIENCE)
    try:
        address = email_normalise(body.email)
    except InvalidAddress as exc:
        raise HttpError(422, f"{body.email!r} is not a valid address: {exc}") from None
    if subscriber_find(address) is not None:
        raise HttpError(409, "A subscriber with this address exists; PATCH it instead.")
    lists = _lists(body.lists)
    sub = Subscriber.objects.create(
        email=address, email_hash=email_hash(address), name=text_clean(body.name),
        organisation=text_clean(body.organisation), country=body.country.upper(),
        language=body.language, attributes=body.attributes)
    for mlist in lists:
        subscription_set(sub, mlist, Subscription.Status.CONFIRMED, actor=_actor(request),
                         method="api", source="api")
    return Status(201, _subscriber_out(sub))


@api.get("/subscribers/{subscriber_id}", response={200: SubscriberOut, **ERRORS},
         tags=["subscribers"])
def subscriber_get(request: HttpRequest, subscriber_id: Id) -> dict[str, Any]:
    require(request, Cap.MANAGE_AUDIENCE)
    return _subscriber_out(get_object_or_404(Subscriber, pk=subscriber_id))


@api.patch("/subscribers/{subscriber_id}", response={200: SubscriberOut, **ERRORS},
           tags=["subscribers"])
def subscriber_update(request: HttpRequest, subscriber_id: Id,
                      body: SubscriberPatch) -> dict[str, Any]:
    require(request, Cap.MANAGE_AUDIENCE)
    sub = get_object_or_404(Subscriber, pk=subscriber_id)
    changes = body.dict(exclude_unset=True, exclude_none=True)
    for key in ("name", "organisation"):
        if key in changes:
            changes[key] = text_clean(changes[key])
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    for key, value in changes.items():
        setattr(sub, key, value)
    sub.save()
    return _subscriber_out(sub)


@api.delete("/subscribers/{subscriber_id}", response={204: None, **ERRORS}, tags=["subscribers"])
def subscriber_delete(request: HttpRequest, subscriber_id: Id) -> Status[None]:
    """Erase the person; only a hash stays on the suppression list so they are never mailed."""
    require(request, Cap.MANAGE_AUDIENCE)
    subscriber_erase(get_object_or_404(Subscriber, pk=subscriber_id), actor=_actor(request))
    return Status(204, None)


@api.post("/subscribers/{subscriber_id}/subscriptions", response={200: SubscriberOut, **ERRORS},
          tags=["subscribers"])
def subscriber_subscribe(request: HttpRequest, subscriber_id: Id,
                         body: SubscriptionIn) -> dict[str, Any]:
    require(request, Cap.MANAGE_AUDIENCE)
    sub = get_object_or_404(Subscriber, pk=subscriber_id)
    (mlist,) = _lists([body.list])
    subscription_set(sub, mlist, body.status, actor=_actor(request), method="api", source="api")
    return _subscriber_out(sub)


# --- Lists and segments ----------------------------------------------------------------

@api.get("/lists", response={200: list[ListOut], **ERRORS}, tags=["audience"])
def list_index(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, Cap.SEND_ISSUES)
    rows = MailingList.objects.annotate(confirmed=Count(
        "subscriptions", filter=Q(subscriptions__status=Subscription.Status.CONFIRMED)))
    return [{"id": m.pk, "slug": m.slug, "name": m.name, "kind": m.kind,
             "confirmed": m.confirmed} for m in rows.order_by("slug")]  # type: ignore[attr-defined]


@api.get("/segments", response={200: list[SegmentOut], **ERRORS}, tags=["audience"])
def segment_index(request: HttpRequest) -> list[Segment]:
    require(request, Cap.SEND_ISSUES)
    return list(Segment.objects.order_by("slug"))


@api.get("/segments/{slug}/count", response={200: SegmentCount, **ERRORS}, tags=["audience"])
def segment_count(request: HttpRequest, slug: SlugPath) -> dict[str, Any]:
    require(request, Cap.SEND_ISSUES)
    segment = get_object_or_404(Segment, slug=slug)
    try:
        count = Subscriber.objects.filter(segment_filter(segment.rule)).count()
    except SegmentError as exc:
        raise HttpError(422, f"The segment's rule is not valid: {exc}; fix it in the admin.") from None
    return {"slug": segment.slug, "count": count}


# --- Issues ------------------------------------------------------------------------------

def _issue_out(issue: Issue) -> dict[str, Any]:
    return {"id": issue.pk, "slug": issue.slug, "title": issue.title, "number": issue.number,
            "date": issue.date, "status": issue.status,
            "languages": sorted(issue.variants.values_list("language", flat=True))}


@api.get("/issues", response={200: list[IssueOut], **ERRORS}, tags=["issues"])
def issue_index(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, Cap.VIEW_REPORTS)
    return [_issue_out(i) for i in Issue.objects.order_by("-id")[:200]]


@api.post("/issues", response={200: IssueOut, 201: IssueOut, **ERRORS}, tags=["issues"])
def issue_create(request: HttpRequest, body: IssueIn) -> Status[dict[str, Any]]:
    """Create an issue (or update its language version) from Markdown."""
    require(request, Cap.EDIT_ISSUES)
    check = preview_render(body.markdown, language=body.language)
    if not check.ok:
        raise HttpError(422, "The issue cannot be rendered; nothing was saved: " + "; ".join(
            f.message for f in check.findings if f.level == "error"))
    try:
        result = issue_import(body.markdown, language=body.language, slug=body.slug)
    except RenderError as exc:
        raise HttpError(422, str(exc)) from None
    if result.created:
        Issue.objects.filter(pk=result.issue.pk).update(created_by=request.auth)  # type: ignore[attr-defined]
    return Status(201 if result.created else 200, _issue_out(result.issue))


@api.get("/issues/{issue_id}", response={200: IssueOut, **ERRORS}, tags=["issues"])
def issue_get(request: HttpRequest, issue_id: Id) -> dict[str, Any]:
    require(request, Cap.VIEW_REPORTS)
    return _issue_out(get_object_or_404(Issue, pk=issue_id))


@api.post("/issues/{issue_id}/preview", response={200: PreviewOut, **ERRORS}, tags=["issues"])
def issue_preview(request: HttpRequest, issue_id: Id, body: PreviewIn) -> dict[str, Any]:
    """Render the saved text, or ``markdown`` if given, exactly as a send would."""
    require(request, Cap.EDIT_ISSUES)
    issue = get_object_or_404(Issue, pk=issue_id)
    language = body.language or issue.default_language
    source = body.markdown
    if source is None:
        variant = issue.variants.filter(language=language).first()
        if variant is None:
            raise HttpError(404, f"The issue has no {language!r} version; pass markdown.")
        source = variant.source_markdown
    return preview_render(source, language=language).as_json()


# --- Sends -------------------------------------------------------------------------------

def _send_out(send: Send) -> dict[str, Any]:
    draft = send.status == Send.Status.DRAFT
    try:
        recipients = audience_queryset(send).count() if draft else send.planned_count
    except (PlanError, SegmentError) as exc:
        raise HttpError(422, f"{exc}. Fix the segment or create the send without it.") from None
    return {"id": send.pk, "issue_id": send.issue_id, "status": send.status,
            "status_reason": send.status_reason,
            "recipients": recipients,
            "awaiting_approval": approval.awaiting_approval(send) is not None,
            "scheduled_at": send.scheduled_at,
            "route": send.smtp_route.name if send.smtp_route else None,
            "progress": send_progress(send.pk)}


@api.post("/sends", response={201: SendOut, **ERRORS}, tags=["sends"])
def send_new(request: HttpRequest, body: SendIn) -> Status[dict[str, Any]]:
    """A draft send; its ``recipients`` is the count to pass to ``start``."""
    require(request, Cap.SEND_ISSUES)
    issue = get_object_or_404(Issue, pk=body.issue_id)
    segment = None
    if body.segment:
        segment = Segment.objects.filter(slug=body.segment).first()
        if segment is None:
            raise HttpError(422, f"No segment {body.segment!r}; GET /api/segments shows them.")
        try:
            segment_filter(segment.rule)
        except SegmentError as exc:
            raise HttpError(422, f"The segment's rule is not valid: {exc}; nothing was created.") from None
    route = None
    if body.route:
        route = Route.objects.filter(name=body.route, is_active=True).first()
        if route is None:
            raise HttpError(422, f"No active SMTP route {body.route!r}; nothing was created.")
    try:
        send = send_create(issue, _lists(body.lists), excluded_lists=_lists(body.excluded_lists),
                           segment=segment, created_by=request.auth,  # type: ignore[attr-defined]
                           scheduled_at=body.scheduled_at, smtp_route=route)
        return Status(201, _send_out(send))
    except (PlanError, SegmentError) as exc:
        raise HttpError(422, str(exc)) from None


@api.get("/sends/{send_id}", response={200: SendOut, **ERRORS}, tags=["sends"])
def send_get(request: HttpRequest, send_id: Id) -> dict[str, Any]:
    require(request, Cap.VIEW_REPORTS)
    return _send_out(get_object_or_404(Send, pk=send_id))


@api.get("/sends/{send_id}/report", response={200: EngagementOut, **ERRORS}, tags=["sends"])
def send_report(request: HttpRequest, send_id: Id) -> dict[str, Any]:
    """Outcomes and engagement of one send: opens, clicks, links, breakdowns."""
    require(request, Cap.VIEW_REPORTS)
    send = get_object_or_404(Send, pk=send_id)
    return {"send_id": send.pk, **send_engagement(send).as_json()}


@api.get("/issues/{issue_id}/report", response={200: EngagementOut, **ERRORS}, tags=["issues"])
def issue_report(request: HttpRequest, issue_id: Id) -> dict[str, Any]:
    """The same figures for an issue across all its sends."""
    require(request, Cap.VIEW_REPORTS)
    return {"send_id": None, **issue_engagement(get_object_or_404(Issue, pk=issue_id)).as_json()}


@api.post("/sends/{send_id}/start", response={200: SendOut, **ERRORS}, tags=["sends"])
def send_start(request: HttpRequest, send_id: Id, body: SendStart) -> dict[str, Any]:
    """Start (or schedule) a draft. ``confirm_count`` must equal the current count, as
    staff type it in the wizard; large sends then wait for an Admin's approval."""
    user = require(request, Cap.SEND_ISSUES)
    send = get_object_or_404(Send, pk=send_id)
    if send.status != Send.Status.DRAFT or approval.awaiting_approval(send):
        raise HttpError(409, f"The send is {send.status}; only a draft can be started.")
    try:
        count = audience_queryset(send).count()
        if body.confirm_count != count:
            raise HttpError(409, f"The send now has {count} recipients, not "
                                 f"{body.confirm_count}; nothing was sent. Confirm {count}.")
        approval.send_go(send, user=user, recipients=count)
    except (PlanError, SegmentError) as exc:
        raise HttpError(422, str(exc)) from None
    except approval.SendRefused as exc:
        raise HttpError(409, str(exc)) from None
    send.refresh_from_db()
    return _send_out(send)


def _control(request: HttpRequest, send_id: int, action: Any) -> dict[str, Any]:
    user = require(request, Cap.SEND_ISSUES)
    send = get_object_or_404(Send, pk=send_id)
    try:
        action(send.pk, by=f"api:{user.get_username()}")
    except controls.ControlRefused as exc:
        raise HttpError(409, str(exc)) from None
    send.refresh_from_db()
    return _send_out(send)


@api.post("/sends/{send_id}/pause", response={200: SendOut, **ERRORS}, tags=["sends"])
def send_pause(request: HttpRequest, send_id: Id) -> dict[str, Any]:
    return _control(request, send_id, controls.send_pause)


@api.post("/sends/{send_id}/resume", response={200: SendOut, **ERRORS}, tags=["sends"])
def send_resume(request: HttpRequest, send_id: Id) -> dict[str, Any]:
    return _control(request, send_id, controls.send_resume)


@api.post("/sends/{send_id}/cancel", response={200: SendOut, **ERRORS}, tags=["sends"])
def send_cancel(request: HttpRequest, send_id: Id) -> dict[str, Any]:
    return _control(request, send_id, controls.send_cancel)
