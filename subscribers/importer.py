"""CSV import of subscribers into a list: streamed, validated line by line, written in chunks.

The file is read once, row by row (``subscribers.csvformat``); valid rows are gathered in
chunks of ``CHUNK`` and each chunk is written with a handful of bulk queries, never a query
per row. The whole import is one transaction: ``dry_run`` and ``strict`` (with bad rows) roll
it back, so they write nothing. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from subscribers.csvformat import ColumnMap, Row, RowError, Unreadable, csv_open, row_parse
from subscribers.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionEvent,
    Suppression,
    Tag,
    email_hash,
)

CHUNK = 2000
__all__ = ["ImportMode", "ImportReport", "Unreadable", "import_csv"]


class ImportMode(enum.StrEnum):
    SUBSCRIBE = "subscribe"  # create or update people and subscribe them to the list
    UPDATE = "update-only"  # update people we already have; create nobody, subscribe nobody
    BLOCKLIST = "blocklist"  # add every address to the global suppression list


@dataclass
class ImportReport:
    mode: str = ImportMode.SUBSCRIBE
    encoding: str = ""
    delimiter: str = ""
    mapping: list[tuple[str, str]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): bad rows
    kept_out: list[tuple[int, str]] = field(default_factory=list)  # valid, deliberately not added
    dry_run: bool = False
    rolled_back: bool = False

    @property
    def rows(self) -> int:
        return (self.created + self.updated + self.unchanged + self.duplicates
                + len(self.skipped) + len(self.kept_out))

    def summary(self) -> str:
        text = (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {len(self.skipped)}")
        if self.duplicates:
            text += f", merged duplicates {self.duplicates}"
        if self.kept_out:
            text += f", not added {len(self.kept_out)}"
        if self.dry_run:
            text += " (dry run: nothing written)"
        elif self.rolled_back:
            text += " (strict: nothing written because some rows are bad)"
        return text


@dataclass
class _Options:
    mailing_list: MailingList | None
    mode: ImportMode
    actor: str
    source: str
    consent_text: str


def import_csv(data: bytes | IO[bytes], mailing_list: MailingList | None, *,
               mode: ImportMode | str = ImportMode.SUBSCRIBE, encoding: str | None = None,
               dry_run: bool = False, strict: bool = False, actor: str = "import",
               source: str = "csv import", consent_text: str = "") -> ImportReport:
    """Import a CSV (bytes or a seekable binary stream). Raises Unreadable when nothing could
    be read; otherwise returns the report, bad rows listed with their line numbers."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    mode = ImportMode(mode)
    if mailing_list is None and mode == ImportMode.SUBSCRIBE:
        raise ValueError("subscribe mode needs a list")
    src = csv_open(stream, encoding=encoding)
    report = ImportReport(mode=mode, encoding=src.encoding, delimiter=src.delimiter,
                          mapping=src.columns.describe(), dry_run=dry_run)
    opts = _Options(mailing_list, mode, actor, source, consent_text)
    seen: set[str] = set()  # lower-cased addresses already written: duplicates across chunks
    with transaction.atomic():
        chunk: dict[str, Row] = {}
        for line, cells in src.rows:
            row = _row_or_skip(line, cells, src.columns, report)
            if row is None:
                continue
            if row.key in chunk:
                chunk[row.key].merge(row)
                report.duplicates += 1
                continue
            chunk[row.key] = row
            if len(chunk) >= CHUNK:
                _flush(chunk, seen, opts, report)
                chunk = {}
        _flush(chunk, seen, opts, report)
        if dry_run or (strict and report.skipped):
            report.rolled_back = True
            transaction.set_rollback(True)
    return report


def _row_or_skip(line: int, cells: list[str] | RowError, cols: ColumnMap,
                 report: ImportReport) -> Row | None:
    try:
        if isinstance(cells, RowError):
            raise cells
        return row_parse(cells, cols, line)
    except RowError as exc:
        report.skipped.append((line, str(exc)))
        return None


def _flush(chunk: dict[str, Row], seen: set[str], opts: _Options, report: ImportReport) -> None:
    """Write one chunk of distinct addresses with a few bulk statements; count outcomes."""
    if not chunk:
        return
    # A row whose address an earlier chunk already wrote is a duplicate: merge, don't count.
    repeats = {key for key in chunk if key in seen}
    seen.update(chunk)
    if opts.mode == ImportMode.BLOCKLIST:
        _blocklist(chunk.values(), opts, report)
        return
    sorted_ = _sort(chunk, repeats, opts, report)
    _write_subscribers(sorted_.new, [s for r, s in sorted_.known
                                     if sorted_.outcome[r.key] == "updated"])
    everyone: list[tuple[Row, _Person | Subscriber]] = [*sorted_.known, *sorted_.new]
    changed = _write_tags(everyone)
    if opts.mode == ImportMode.SUBSCRIBE:
        changed |= _write_subscriptions(everyone, opts, report)
    for key, result in sorted_.outcome.items():
        if key in repeats:
            report.duplicates += 1
        else:
            result = "updated" if key in changed and result == "unchanged" else result
            setattr(report, result, getattr(report, result) + 1)


@dataclass
class _Sorted:
    known: list[tuple[Row, Subscriber]] = field(default_factory=list)  # changed in memory
    new: list[tuple[Row, _Person]] = field(default_factory=list)
    outcome: dict[str, str] = field(default_factory=dict)  # key -> created|updated|unchanged


def _sort(chunk: dict[str, Row], repeats: set[str], opts: _Options,
          report: ImportReport) -> _Sorted:
    """Split a chunk into new and known people (applying the rows to the known ones in
    memory), and keep out suppressed and blocklisted addresses."""
    hashes = {email_hash(r.email): r for r in chunk.values()}
    suppressed = dict(Suppression.objects.filter(email_hash__in=hashes)
                      .values_list("email_hash", "reason"))
    existing = {s.email_hash: s for s in Subscriber.objects.filter(email_hash__in=hashes)}
    out = _Sorted()
    for digest, row in hashes.items():
        sub = existing.get(digest)
        if digest in suppressed:
            report.kept_out.append((row.line, f"address is suppressed ({suppressed[digest]})"))
        elif sub is not None and sub.status == Subscriber.Status.BLOCKLISTED:
            report.kept_out.append((row.line, "subscriber is blocklisted"))
        elif sub is not None:
            changed = _apply(row, sub, fill_only=row.key in repeats)
            out.outcome[row.key] = "updated" if changed else "unchanged"
            out.known.append((row, sub))
        elif opts.mode == ImportMode.UPDATE:
            report.kept_out.append((row.line, "not a subscriber yet (update-only)"))
        else:
            out.new.append((row, _Person(email_hash=digest)))
            out.outcome[row.key] = "created"
    return out


@dataclass(slots=True)
class _Person:
    """A subscriber this chunk creates: just what the later inserts need (no model instance,
    whose construction costs more than the INSERT itself)."""

    email_hash: str
    pk: int = 0


def _apply(row: Row, sub: Subscriber, *, fill_only: bool) -> bool:
    """Copy the row's given values onto an existing subscriber; True if anything changed.
    ``fill_only`` (a repeat of an address written earlier in this file) fills blanks only."""
    changed = False
    for name in ("name", "organisation", "country", "language"):
        value = getattr(row, name)
        if value and getattr(sub, name) != value and not (fill_only and getattr(sub, name)):
            setattr(sub, name, value)
            changed = True
    merged = ({**row.attributes, **sub.attributes} if fill_only
              else {**sub.attributes, **row.attributes})
    if merged != sub.attributes:
        sub.attributes = merged
        changed = True
    return changed


def _insert(model: type[Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT many rows: COPY on PostgreSQL, elsewhere a multi-row ``VALUES`` list per
    statement; values always travel as data, never as SQL text.

    Used for the importer's hot path because ``bulk_create`` spends most of its time
    preparing each value of each model instance (measured in benchmarks/import_csv.py).
    Table and column names come from the model's metadata, never from the file.
    """
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    concrete = {f.name: f.column for f in meta.concrete_fields}
    columns = ", ".join(quote(concrete[f]) for f in fields)
    if connection.vendor == "postgresql":
        # COPY: the fastest bulk path PostgreSQL has, in the same transaction as the rest.
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, 10_000 // len(fields))  # well under SQLite's 32,766 parameters
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
                   + ", ".join([one] * len(batch)))
            cursor.execute(sql, [value for row in batch for value in row])


def _stamp(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def _write_subscribers(new: list[tuple[Row, _Person]], changed: list[Subscriber]) -> None:
    now = _stamp(timezone.now())
    attributes = Subscriber._meta.get_field("attributes")
    _insert(Subscriber, ["email", "email_hash", "name", "organisation", "country", "language",
                         "attributes", "status", "created_at", "updated_at"],
            [(r.email, p.email_hash, r.name, r.organisation, r.country, r.language or "en",
              attributes.get_db_prep_save(r.attributes, connection), Subscriber.Status.ACTIVE,
              now, now) for r, p in new])
    ids = dict(Subscriber.objects.filter(email_hash__in=[p.email_hash for _, p in new])
               .values_list("email_hash", "pk"))
    for _, person in new:
        person.pk = ids[person.email_hash]
    updated = timezone.now()
    for sub in changed:
        sub.updated_at = updated
    Subscriber.objects.bulk_update(
        changed, ["name", "organisation", "country", "language", "attributes", "updated_at"],
        batch_size=500)


def _write_tags(people: list[tuple[Row, _Person | Subscriber]]) -> set[str]:
    """Add the rows' tags (never removes one). Returns keys of people who gained a tag."""
    names = set().union(*(r.tags for r, _ in people)) if people else set()
    if not names:
        return set()
    Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    through = Subscriber.tags.through
    have = set(through.objects.filter(subscriber_id__in=[s.pk for _, s in people],
                                      tag_id__in=tag_ids.values())
               .values_list("subscriber_id", "tag_id"))
    links: list[tuple[Any, ...]] = []
    gained: set[str] = set()
    for row, sub in people:
        for name in row.tags:
            if (sub.pk, tag_ids[name]) not in have:
                links.append((sub.pk, tag_ids[name]))
                gained.add(row.key)
    _insert(through, ["subscriber", "tag"], links)
    return gained


def _write_subscriptions(people: list[tuple[Row, _Person | Subscriber]], opts: _Options,
                         report: ImportReport) -> set[str]:
    """Subscribe (confirmed) everyone not yet on the list, confirm the unconfirmed, and leave
    anyone who unsubscribed from it alone. Returns keys of people whose subscription changed."""
    mlist = opts.mailing_list
    assert mlist is not None
    now = timezone.now()
    stamp = _stamp(now)
    create: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    moves: dict[str, list[int]] = {}  # new status -> subscription ids
    changed: set[str] = set()
    for row, sub, pk, old, target in _subscription_changes(people, mlist, report):
        changed.add(row.key)
        if pk is None:
            create.append((
                sub.pk, mlist.pk, target,
                None if row.opted_out else _stamp(row.consent_at or now), "import",
                opts.source[:255], row.consent_ip, row.consent_text or opts.consent_text,
                stamp, stamp))
        else:
            moves.setdefault(target, []).append(pk)
        events.append((sub.pk, mlist.pk, sub.email_hash, "subscription", old, target,
                       opts.actor, opts.source, stamp))
    _insert(Subscription, ["subscriber", "mailing_list", "status", "consent_at",
                           "consent_method", "consent_source", "consent_ip", "consent_text",
                           "created_at", "updated_at"], create)
    for status, ids in moves.items():
        Subscription.objects.filter(pk__in=ids).update(status=status, updated_at=now)
    _insert(SubscriptionEvent, ["subscriber", "mailing_list", "email_hash", "action",
                                "old_status", "new_status", "actor", "detail", "created_at"],
            events)
    return changed


_Change = tuple[Row, "_Person | Subscriber", int | None, str, str]


def _subscription_changes(people: list[tuple[Row, _Person | Subscriber]], mlist: MailingList,
                          report: ImportReport) -> list[_Change]:
    """(row, person, existing subscription id or None, old status, new status) for each
    subscription the chunk changes. Someone who unsubscribed from the list stays so."""
    # By subscriber only, list compared here: with both conditions SQLite's planner picks the
    # (list, status, subscriber) index and scans the whole list for every chunk (quadratic).
    current = {sid: (pk, status) for sid, list_id, pk, status in Subscription.objects.filter(
        subscriber_id__in=[s.pk for _, s in people],
    ).values_list("subscriber_id", "mailing_list_id", "pk", "status") if list_id == mlist.pk}
    changes: list[_Change] = []
    for row, sub in people:
        pk, old = current.get(sub.pk, (None, ""))
        target = (Subscription.Status.UNSUBSCRIBED if row.opted_out
                  else Subscription.Status.CONFIRMED)
        if old == Subscription.Status.UNSUBSCRIBED:
            if not row.opted_out:
                report.kept_out.append((row.line, "unsubscribed from this list earlier; "
                                                  "left unsubscribed"))
        elif old != target:
            changes.append((row, sub, pk, old, target))
    return changes


def _blocklist(rows: Iterable[Row], opts: _Options, report: ImportReport) -> None:
    by_hash = {email_hash(r.email): r for r in rows}
    have = set(Suppression.objects.filter(email_hash__in=by_hash).values_list("email_hash",
                                                                                 flat=True))
    Suppression.objects.bulk_create(
        [Suppression(email=r.email, email_hash=h, reason=Suppression.Reason.MANUAL,
                     detail=opts.source[:200]) for h, r in by_hash.items() if h not in have],
        batch_size=500)
    people = list(Subscriber.objects.filter(email_hash__in=by_hash)
                  .exclude(status=Subscriber.Status.BLOCKLISTED))
    Subscriber.objects.filter(pk__in=[p.pk for p in people]).update(
        status=Subscriber.Status.BLOCKLISTED, updated_at=timezone.now())
    SubscriptionEvent.objects.bulk_create([
        SubscriptionEvent(subscriber=p, email_hash=p.email_hash, action="blocklist",
                          old_status=Subscriber.Status.ACTIVE,
                          new_status=Subscriber.Status.BLOCKLISTED, actor=opts.actor,
                          detail=opts.source) for p in people])
    report.created += len(by_hash) - len(have)
    report.unchanged += len(have)


def report_lines(report: ImportReport) -> list[str]:
    """The report as text lines: each skipped row with its line number, then the summary."""
    out = [f"line {line}: {reason} (skipped)" for line, reason in report.skipped]
    out += [f"line {line}: {reason} (not added)" for line, reason in report.kept_out]
    return out


def report_dict(report: ImportReport) -> dict[str, Any]:
    return {"created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "duplicates": report.duplicates,
            "skipped": [{"line": ln, "reason": r} for ln, r in report.skipped],
            "not_added": [{"line": ln, "reason": r} for ln, r in report.kept_out],
            "encoding": report.encoding, "delimiter": report.delimiter,
            "dry_run": report.dry_run, "rolled_back": report.rolled_back}
