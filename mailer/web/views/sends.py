"""The send wizard (audience -> count -> typed confirmation), live progress and controls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mailer.issues.models import Issue
from mailer.sending.approval import approval_threshold
from mailer.sending.models import Delivery, Send
from mailer.sending.planning import PlanError, send_create
from mailer.sending.progress import send_progress
from mailer.web import controls
from mailer.web.access import capability_required
from mailer.web.forms import AudienceForm, ConfirmForm
from mailer.web.roles import Cap
from mailer.web.templatetags.web_extras import status_label
from mailer.web.wizard import audience_summary
from subscribers.segments import SegmentError

S = Send.Status
RECENT_ERRORS = 10


@capability_required(Cap.SEND_ISSUES)
def send_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: choose the audience and the time. Creates a draft send (nothing is sent)."""
    issue = get_object_or_404(Issue, pk=pk)
    form = AudienceForm(request.POST or None, initial=_initial_from(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            send = send_create(issue, data["lists"], excluded_lists=data["excluded_lists"],
                               segment=data["segment"], created_by=request.user,
                               scheduled_at=data["scheduled_at"],
                               smtp_route=data.get("smtp_route"))
        except PlanError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("web:send-confirm", pk=send.pk)
    return render(request, "app/send_new.html", {"issue": issue, "form": form})


def _initial_from(request: HttpRequest) -> dict[str, object]:
    """"Change the audience" comes back here with the discarded draft's choices."""
    def ids(key: str) -> list[int]:
        return [int(v) for v in request.GET.getlist(key) if v.isdigit()]

    segment = request.GET.get("segment", "")
    route = request.GET.get("smtp_route", "")
    return {"lists": ids("lists"), "excluded_lists": ids("excluded_lists"),
            "segment": int(segment) if segment.isdigit() else None, "when": "now",
            "smtp_route": int(route) if route.isdigit() else None}


@capability_required(Cap.SEND_ISSUES)
def send_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: the count after dedupe and suppressions, its breakdown, typed confirmation."""
    send = get_object_or_404(Send.objects.select_related("issue", "segment"), pk=pk)
    if send.status != S.DRAFT or controls.awaiting_approval(send):
        return redirect("web:send-detail", pk=send.pk)
    try:
        summary = audience_summary(send)
    except (SegmentError, PlanError) as exc:
        messages.error(request, _("The segment “%(name)s” has a broken rule (%(why)s). Nothing was "
                                  "sent. Ask an Admin to fix it, or choose another segment.")
                       % {"name": send.segment, "why": exc})
        return render(request, "app/send_confirm.html", {"send": send, "broken": True})
    form = ConfirmForm(request.POST or None, expected=summary.recipients)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = controls.send_confirm(send, user=request.user,
                                            recipients=summary.recipients)
        except (PlanError, controls.ControlRefused) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, {
                "approval": _("Confirmed. An Admin must approve sends this large; they see it "
                              "on the Sends page. Nothing is sent until then."),
                S.SCHEDULED: _("Scheduled. It starts on its own at the chosen time."),
            }.get(outcome, _("Sending started.")))
        return redirect("web:send-detail", pk=send.pk)
    return render(request, "app/send_confirm.html", {
        "send": send, "summary": summary, "form": form,
        "needs_approval": 0 < approval_threshold() < summary.recipients,
    })


@require_POST
@capability_required(Cap.SEND_ISSUES)
def send_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Back from step 2: a draft that never started is simply removed."""
    send = get_object_or_404(Send, pk=pk)
    choices = urlencode({"lists": list(send.lists.values_list("pk", flat=True)),
                         "excluded_lists": list(send.excluded_lists.values_list("pk", flat=True)),
                         "segment": send.segment_id or "",
                         "smtp_route": send.smtp_route_id or ""}, doseq=True)
    Send.objects.filter(pk=pk, status=S.DRAFT, approval__isnull=True).delete()
    return redirect(reverse("web:send-new", args=[send.issue_id]) + f"?{choices}")


@capability_required(Cap.VIEW_REPORTS)
def send_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The live progress page; the numbers refresh from ``send_status`` without reload."""
    send = get_object_or_404(Send.objects.select_related("issue", "segment", "created_by"), pk=pk)
    approval = controls.awaiting_approval(send)
    return render(request, "app/send_detail.html", {
        "send": send, "progress": _progress(send), "approval": approval,
        "can_approve": approval is not None and request.user.has_perm(Cap.APPROVE_SENDS.value)
        and approval.requested_by_id != request.user.pk,
    })


def _headline(status: str, title: str) -> str:
    """What the page's heading says the send is doing (or did)."""
    formats: dict[str, str] = {
        S.DONE: _("Sent “%(title)s”"),
        S.CANCELLED: _("Cancelled: “%(title)s”"),
        S.PAUSED: _("Paused: “%(title)s”"),
        S.FAILED: _("Failed: “%(title)s”"),
        S.DRAFT: _("Not started yet: “%(title)s”"),
        S.SCHEDULED: _("Scheduled: “%(title)s”"),
    }
    return formats.get(status, _("Sending “%(title)s”")) % {"title": title}


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    if whole < 60:
        return _("%(s)d s") % {"s": whole}
    if whole < 3600:
        return _("%(m)d min %(s)d s") % {"m": whole // 60, "s": whole % 60}
    return _("%(h)d h %(m)d min") % {"h": whole // 3600, "m": whole % 3600 // 60}


def _rate_and_time(progress: dict[str, Any]) -> dict[str, str]:
    """Labels and values of the rate and time counters: live rate and time left while
    sending; otherwise the average rate over the time it took, first to last message."""
    if progress["throughput_kind"] == "live":
        eta = progress["eta_seconds"]
        return {"rate_label": _("Per second"), "rate_text": f"{progress['throughput']:.1f}",
                "time_label": _("Time left"), "time_text": _duration(eta) if eta else "—"}
    took = progress["duration_seconds"]
    return {"rate_label": _("Average per second"),
            "rate_text": f"{progress['throughput']:.1f}" if progress["sent"] else "—",
            "time_label": _("Took"), "time_text": _duration(took) if took is not None else "—"}


def _progress(send: Send) -> dict[str, Any]:
    progress = send_progress(send.pk)
    progress["headline"] = _headline(progress["status"], send.issue.title)
    progress.update(_rate_and_time(progress))
    send_id = send.pk
    done = progress["sent"] + progress["failed"] + progress["bounced"] + progress["skipped"]
    planned = progress["planned"]
    progress["done"] = done
    progress["status_label"] = status_label(progress["status"])
    progress["percent"] = 100 if planned == 0 and progress["status"] == S.DONE else (
        int(done * 100 / planned) if planned else 0)
    progress["errors"] = [
        {"email": email, "status": status, "code": code, "reply": reply[:200]}
        for email, status, code, reply in Delivery.objects.filter(
            send_id=send_id, status__in=[Delivery.Status.FAILED, Delivery.Status.BOUNCED,
                                         Delivery.Status.RETRYING])
        .exclude(smtp_reply="").order_by("-updated_at", "-id")
        .values_list("email", "status", "smtp_code", "smtp_reply")[:RECENT_ERRORS]]
    return progress


@capability_required(Cap.VIEW_REPORTS)
def send_status(request: HttpRequest, pk: int) -> JsonResponse:
    send = get_object_or_404(Send.objects.select_related("issue"), pk=pk)
    return JsonResponse(_progress(send))


@require_POST
@capability_required(Cap.SEND_ISSUES)
def send_control(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    send = get_object_or_404(Send, pk=pk)
    act = {"pause": controls.send_pause, "resume": controls.send_resume,
           "cancel": controls.send_cancel}[action]
    try:
        act(send.pk, by=request.user.get_username())
    except controls.ControlRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, {"pause": _("Paused. Messages already handed over still "
                                              "arrive; nothing new goes out until you resume."),
                                   "resume": _("Resumed."),
                                   "cancel": _("Cancelled. No further messages will be sent.")
                                   }[action])
    return redirect("web:send-detail", pk=send.pk)


@require_POST
@capability_required(Cap.APPROVE_SENDS)
def send_approve(request: HttpRequest, pk: int) -> HttpResponse:
    send = get_object_or_404(Send, pk=pk)
    try:
        outcome = controls.send_approve(send, user=request.user)
    except (PlanError, controls.ControlRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Approved; it starts at the scheduled time.")
                         if outcome == S.SCHEDULED else _("Approved; the send has started."))
    return redirect("web:send-detail", pk=send.pk)
