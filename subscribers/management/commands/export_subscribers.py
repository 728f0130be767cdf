"""``newsletter export_subscribers --list SLUG|--segment SLUG -o FILE``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscribers.exporter import export_rows, export_write
from subscribers.models import MailingList, Segment, Subscriber
from subscribers.segments import SegmentError, segment_filter


class Command(BaseCommand):
    help = "Export a list or a segment as CSV (UTF-8 with BOM, with consent columns)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--list", dest="list_slug")
        which.add_argument("--segment", dest="segment_slug")
        which.add_argument("--rule", help="a segment rule written out, e.g. 'country = KZ'")
        parser.add_argument("-o", "--output", default="-", help="file to write ('-': stdout)")

    def handle(self, *args: Any, **opts: Any) -> None:
        people = Subscriber.objects.all()
        mlist = None
        if opts["list_slug"]:
            mlist = MailingList.objects.filter(slug=opts["list_slug"]).first()
            if mlist is None:
                raise CommandError(f"no list {opts['list_slug']!r}; nothing exported")
        else:
            rule = opts["rule"]
            if opts["segment_slug"]:
                segment = Segment.objects.filter(slug=opts["segment_slug"]).first()
                if segment is None:
                    raise CommandError(f"no segment {opts['segment_slug']!r}; nothing exported")
                rule = segment.rule
            try:
                people = people.filter(segment_filter(rule))
            except SegmentError as exc:
                raise CommandError(f"{exc}\n{exc.pointer(rule)}\nnothing exported") from None
        if opts["output"] == "-":
            count = export_write(export_rows(people, mlist), _Stdout(self))
        else:
            try:
                with open(opts["output"], "w", encoding="utf-8-sig", newline="") as out:
                    count = export_write(export_rows(people, mlist), out)
            except OSError as exc:
                raise CommandError(f"cannot write {opts['output']}: {exc.strerror}") from None
        self.stderr.write(f"exported {count} people")


class _Stdout:
    """The command's stdout without its added line endings (csv writes its own)."""

    def __init__(self, command: BaseCommand) -> None:
        self.command = command

    def write(self, text: str, /) -> None:
        self.command.stdout.write(text, ending="")
