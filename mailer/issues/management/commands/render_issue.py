from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.issues.models import Issue
from mailer.issues.services import variant_compiled, variant_for_language
from mailer.rendering import RenderError

PREVIEW_VALUES = {
    "first_name": "Aigerim", "name": "Aigerim Bekova", "email": "aigerim@example.org",
    "unsubscribe_url": "https://example.org/u/preview",
    "preferences_url": "https://example.org/p/preview", "web_url": "https://example.org/web/preview",
}


class Command(BaseCommand):
    help = "Write the rendered email of an issue (html, text or mjml) to a file or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("issue_id", type=int)
        parser.add_argument("--format", choices=["html", "text", "mjml"], default="html")
        parser.add_argument("--lang", help="language variant (default: the issue's default)")
        parser.add_argument("-o", "--output", type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            issue = Issue.objects.get(pk=opts["issue_id"])
        except Issue.DoesNotExist:
            raise CommandError(f"no issue with id {opts['issue_id']}") from None
        variant = variant_for_language(issue, opts["lang"] or issue.default_language)
        try:
            compiled = variant_compiled(variant)
        except RenderError as exc:
            raise CommandError(f"issue {issue.pk} [{variant.language}] cannot be rendered: {exc}") from None
        fmt = opts["format"]
        if fmt == "html":
            out = compiled.html.render(PREVIEW_VALUES, escape_html=True)
        elif fmt == "text":
            out = compiled.text.render(PREVIEW_VALUES, escape_html=False)
        else:
            out = compiled.mjml
        if opts["output"]:
            opts["output"].write_text(out, encoding="utf-8")
            self.stdout.write(f"wrote {len(out.encode())} bytes to {opts['output']}")
        else:
            sys.stdout.write(out)
