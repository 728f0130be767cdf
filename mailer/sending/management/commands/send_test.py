from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.issues.models import Issue
from mailer.issues.services import variant_for_language
from mailer.rendering import RenderError
from mailer.web.testsend import variant_test_send


class Command(BaseCommand):
    help = ("Send a test of an issue to named addresses only. Nothing is written to the "
            "delivery ledger; the subject starts with [TEST].")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("issue", help="issue id or slug")
        parser.add_argument("--to", action="append", required=True, metavar="ADDRESS")
        parser.add_argument("--lang", help="language variant (default: the issue's default)")
        parser.add_argument("--name", default="", help="name to merge as the recipient's")

    def handle(self, *args: Any, **opts: Any) -> None:
        key = opts["issue"]
        issue = (Issue.objects.filter(pk=int(key)).first() if key.isdigit()
                 else Issue.objects.filter(slug=key).first())
        if issue is None:
            raise CommandError(f"no issue {key!r}; import one with import_issue")
        if not issue.variants.exists():
            raise CommandError(f"issue {issue.slug!r} has no variant to send")
        variant = variant_for_language(issue, opts["lang"] or issue.default_language)
        try:
            report = variant_test_send(variant, opts["to"], sender_name=opts["name"])
        except RenderError as exc:
            raise CommandError(f"the issue does not render: {exc}; nothing was sent") from None
        for address in report.accepted:
            self.stdout.write(f"sent to {address}")
        for address, reason in report.refused:
            self.stderr.write(f"not sent to {address}: {reason}")
        if report.refused:
            raise CommandError(f"{len(report.refused)} of {len(opts['to'])} test messages "
                               "were refused; see above")
