from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.issues.services import issue_import
from mailer.rendering import RenderError


class Command(BaseCommand):
    help = "Store an issue (or a language variant of one) from a Markdown file; prints its id last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--lang", help="language of this variant (default: front matter, else en)")
        parser.add_argument("--slug", help="issue slug to add this variant to (default: from file name)")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["path"]
        try:
            source = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}; nothing was stored") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text; nothing was stored") from None
        try:
            result = issue_import(source, language=opts["lang"], slug=opts["slug"], filename=path.name)
        except RenderError as exc:
            raise CommandError(f"{path}: {exc}; nothing was stored") from None
        verb = "created" if result.created else "updated"
        self.stdout.write(f"Issue {result.issue.slug!r} {verb}: {result.issue.title} "
                          f"[{result.variant.language}, revision {result.variant.revision}]")
        self.stdout.write(str(result.issue.pk))
