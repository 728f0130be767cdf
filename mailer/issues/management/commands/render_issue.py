from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.issues.models import Issue
from mailer.issues.preview import preview_message
from mailer.issues.services import variant_compile, variant_compiled, variant_for_language
from mailer.rendering import RenderError

PREVIEW_VALUES = {
    "first_name": "Aigerim", "name": "Aigerim Bekova", "email": "aigerim@example.org",
    "unsubscribe_url": "https://example.org/u/preview",
    "preferences_url": "https://example.org/p/preview", "web_url": "https://example.org/web/preview",
}


class Command(BaseCommand):
    help = "Write the rendered email of an issue (html, text, mjml or eml) to a file or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("issue_id", type=int)
        parser.add_argument("--format", choices=["html", "text", "mjml", "eml"], default="html")
        parser.add_argument("--lang", help="language variant (default: the issue's default)")
        parser.add_argument("-o", "--output", type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            issue = Issue.objects.get(pk=opts["issue_id"])
        except Issue.DoesNotExist:
            raise CommandError(f"no issue with id {opts['issue_id']}") from None
        variant = variant_for_language(issue, opts["lang"] or issue.default_language)
        fmt = opts["format"]
        try:
            # The cache holds HTML and text only; MJML is compiled afresh.
            compiled = variant_compile(variant) if fmt == "mjml" else variant_compiled(variant)
        except RenderError as exc:
            raise CommandError(f"issue {issue.pk} [{variant.language}] cannot be rendered: {exc}") from None
        for finding in compiled.findings:
            self.stderr.write(str(finding))
        out: str | bytes
        if fmt == "html":
            out = compiled.html.render(PREVIEW_VALUES, escape_html=True)
        elif fmt == "text":
            out = compiled.text.render(PREVIEW_VALUES, escape_html=False)
        elif fmt == "eml":
            out = preview_message(compiled, PREVIEW_VALUES, from_name=variant.from_name,
                                  to=PREVIEW_VALUES["email"]).as_bytes()
        else:
            out = compiled.mjml
        data = out if isinstance(out, bytes) else out.encode("utf-8")
        if opts["output"]:
            opts["output"].write_bytes(data)
            self.stdout.write(f"wrote {len(data)} bytes to {opts['output']}")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
