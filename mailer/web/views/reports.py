"""Reports: all sends, one send (outcomes, opens and clicks, links, breakdowns, charts,
per-recipient log, CSVs), one issue's sends."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from mailer.engagement.report import (
    engagement_chart,
    engagement_csv,
    issue_engagement,
    person_activity,
    send_engagement,
)
from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sending.report import failure_summary
from mailer.web.access import capability_required
from mailer.web.reports import LOG_PAGE, delivery_csv_rows, delivery_log, outcomes, timeline
from mailer.web.roles import Cap


@capability_required(Cap.VIEW_REPORTS)
def send_list(request: HttpRequest) -> HttpResponse:
    sends = Send.objects.select_related("issue", "created_by", "approval").order_by("-id")[:200]
    return render(request, "app/send_list.html", {"sends": sends})


@capability_required(Cap.VIEW_REPORTS)
def send_report(request: HttpRequest, pk: int) -> HttpResponse:
    send = get_object_or_404(Send.objects.select_related("issue", "segment"), pk=pk)
    query = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "")
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    page = list(delivery_log(send, query=query, status=status, after=after)[:LOG_PAGE + 1])
    figures = send_engagement(send)  # first: it flushes waiting hits into events
    opens_chart, clicks_chart = engagement_chart(send)
    rows = page[:LOG_PAGE]
    activity = person_activity(send, [d.subscriber_id for d in rows if d.subscriber_id])
    for d in rows:
        setattr(d, "activity", activity.get(d.subscriber_id or 0, ""))  # noqa: B010 - template-only
    return render(request, "app/send_report.html", {
        "send": send, "outcomes": outcomes(send), "delivery_chart": timeline(send),
        "engagement": figures, "opens_chart": opens_chart, "clicks_chart": clicks_chart,
        "breakdowns": [(_("By list"), figures.by_list), (_("By language"), figures.by_language),
                       (_("By country"), figures.by_country)],
        "failures": failure_summary(send.pk),
        "rows": rows, "per_person": send.tracking_mode == "per-person",
        "next_after": page[LOG_PAGE - 1].pk if len(page) > LOG_PAGE else None,
        "q": query, "status": status, "statuses": Delivery.Status.choices,
    })


@capability_required(Cap.VIEW_REPORTS)
def send_report_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    send = get_object_or_404(Send, pk=pk)
    response = StreamingHttpResponse(delivery_csv_rows(send), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="send-{send.pk}-deliveries.csv"'
    return response


@capability_required(Cap.VIEW_REPORTS)
def send_engagement_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    send = get_object_or_404(Send, pk=pk)
    response = StreamingHttpResponse(engagement_csv(send_engagement(send)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="send-{send.pk}-engagement.csv"'
    return response


@capability_required(Cap.VIEW_REPORTS)
def issue_sends(request: HttpRequest, pk: int) -> HttpResponse:
    issue = get_object_or_404(Issue, pk=pk)
    sends = [(s, outcomes(s), send_engagement(s, flush=False))
             for s in issue.sends.select_related("created_by").order_by("-id")]
    return render(request, "app/issue_sends.html", {
        "issue": issue, "sends": sends, "engagement": issue_engagement(issue)})
