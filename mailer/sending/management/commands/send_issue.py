from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mailer.issues.models import Issue
from mailer.sending.approval import AWAITING_APPROVAL, SendRefused, approval_threshold, send_go
from mailer.sending.management.commands._common import progress_wait, stream_writer
from mailer.sending.models import Route, Send
from mailer.sending.planning import PlanError, audience_queryset, send_create
from subscribers.models import MailingList, Segment


def _at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise CommandError(f"--at {raw!r} is not an ISO 8601 date-time, e.g. 2026-12-01T09:00+05:00")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


class Command(BaseCommand):
    help = ("Send an issue to one or more lists. Plans the audience now and queues it "
            "(or schedules it with --at). Above SEND_APPROVAL_THRESHOLD recipients the send "
            "waits, like one from the staff app, until an Admin approves it on its page. "
            "Prints the send's id alone on the last line.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("issue", help="issue id or slug")
        parser.add_argument("--list", dest="lists", action="append", required=True,
                            metavar="SLUG", help="list to send to (repeat for several)")
        parser.add_argument("--exclude", action="append", default=[], metavar="SLUG",
                            help="leave out members of this list (repeatable)")
        parser.add_argument("--segment", metavar="SLUG", help="only subscribers in this segment")
        parser.add_argument("--route", metavar="NAME",
                            help="SMTP route to send through (default: the one in SMTP_URL)")
        parser.add_argument("--at", help="start at this ISO 8601 time instead of now")
        parser.add_argument("--wait", action="store_true",
                            help="show progress until the workers have finished")
        parser.add_argument("--timeout", type=float, help="with --wait: stop waiting after S s")

    def handle(self, *args: Any, **opts: Any) -> None:
        issue = self._issue(opts["issue"])
        lists = self._lists(opts["lists"])
        excluded = self._lists(opts["exclude"])
        segment = None
        if opts["segment"]:
            segment = Segment.objects.filter(slug=opts["segment"]).first()
            if segment is None:
                raise CommandError(f"no segment {opts['segment']!r}; nothing was sent")
        route = None
        if opts["route"]:
            route = Route.objects.filter(name=opts["route"], is_active=True).first()
            if route is None:
                names = ", ".join(Route.objects.filter(is_active=True)
                                  .values_list("name", flat=True)) or "none"
                raise CommandError(f"no active SMTP route {opts['route']!r} (active routes: "
                                   f"{names}); nothing was sent")
        at = _at(opts["at"])
        try:
            send = send_create(issue, lists, excluded_lists=excluded, segment=segment,
                               scheduled_at=at, smtp_route=route)
            # The same gate as the staff app and the API: above SEND_APPROVAL_THRESHOLD the
            # send waits for an Admin's approval on its page (any Admin may give it).
            outcome = send_go(send, user=None, recipients=audience_queryset(send).count())
        except (PlanError, SendRefused) as exc:
            raise CommandError(f"{exc}; nothing was sent") from None
        send.refresh_from_db()
        if outcome == AWAITING_APPROVAL:
            self.stdout.write(f"Send {send.pk} of {issue.slug!r} waits for approval: "
                              f"{approval_recipients(send)} recipients is above "
                              f"SEND_APPROVAL_THRESHOLD={approval_threshold()}; an Admin approves "
                              "it on the send's page in the staff app. Nothing was sent yet.")
            opts["wait"] = False
        elif outcome == Send.Status.SCHEDULED and at:
            self.stdout.write(f"Send {send.pk} of {issue.slug!r} scheduled for "
                              f"{at.isoformat()}; a worker with beat starts it then.")
        else:
            self.stdout.write(f"Send {send.pk} of {issue.slug!r}: {send.planned_count} "
                              "recipients planned and queued.")
        if opts["wait"]:
            # The bar goes to stderr (unbuffered); what was said above must reach the
            # terminal or a pipe before it, not after the 100 % line.
            self.stdout.flush()
            p = progress_wait(send.pk, write=stream_writer(self.stderr), tty=self.stderr.isatty(),
                              timeout=opts["timeout"])
            self.stdout.write(f"{p['status']}: sent {p['sent']}, failed {p['failed']}, "
                              f"bounced {p['bounced']}, skipped {p['skipped']}, "
                              f"unfinished {p['pending'] + p['sending'] + p['retrying']}"
                              + (f" ({p['status_reason']})" if p["status_reason"] else ""))
        self.stdout.write(str(send.pk))

    def _issue(self, key: str) -> Issue:
        issue = (Issue.objects.filter(pk=int(key)).first() if key.isdigit()
                 else Issue.objects.filter(slug=key).first())
        if issue is None:
            raise CommandError(f"no issue {key!r}; import one with import_issue")
        return issue

    def _lists(self, slugs: list[str]) -> list[MailingList]:
        found = {ml.slug: ml for ml in MailingList.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise CommandError(f"no list {', '.join(map(repr, missing))}; nothing was sent")
        return [found[s] for s in slugs]


def approval_recipients(send: Send) -> int:
    from mailer.web.models import SendApproval

    return SendApproval.objects.filter(send=send).values_list("recipient_count", flat=True).get()
