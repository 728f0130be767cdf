"""CSV import benchmark: the real importer beside a bare baseline, in the same run.

    python benchmarks/import_csv.py [--rows 100000]

Generates a CSV of N people (Cyrillic names, countries, languages, tags, 1 % bad rows,
1 % case-only duplicates) and times, on the database named by DATABASE_URL (default: a
throw-away SQLite file in a temporary folder):

- baseline: a plain ``csv.reader`` pass + ``bulk_create`` of the same rows (no validation,
  no normalisation, no subscriptions, no tags) — the floor for "read a file into a table";
- import: ``subscribers.importer.import_csv`` into a new list (validation, normalisation,
  merge, tags, subscriptions with consent, audit events);
- re-import of the same file (must change nothing).

Prints rows/s for each and the peak resident memory (RSS) growth of the import. Run it on
an empty database: it refuses when the database already holds subscribers, and deletes
what it created when done.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="import-bench-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailer.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from subscribers.importer import import_csv  # noqa: E402
from subscribers.models import (  # noqa: E402
    MailingList,
    Subscriber,
    SubscriptionEvent,
    Tag,
    email_hash,
)

FIRST = ["Айгуль", "Бакыт", "Dilnoza", "Ерлан", "Farrukh", "Гульнара", "Jamshid", "Мадина"]
LAST = ["Садыкова", "Осмонов", "Karimova", "Нуржанов", "Rahimov", "Ахмедова"]
COUNTRIES = ["KZ", "KG", "TJ", "TM", "UZ", "RU", "DE"]
LANGS = ["ru", "en", "kk", "ky", "tg", "uz"]
TAGS = ["ngo", "media", "un", "gov", "donor"]


def make_csv(path: Path, rows: int) -> None:
    rnd = random.Random(42)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(["Email Address", "First Name", "Last Name", "Country", "Language",
                    "Organisation", "Tags"])
        for i in range(rows):
            email = f"person{i}@example{i % 97}.org"
            if i % 100 == 7:
                email = f"broken-{i}"  # 1 % invalid
            elif i % 100 == 13:
                email = f"PERSON{i - 1}@example{(i - 1) % 97}.org"  # 1 % case duplicates
            w.writerow([email, rnd.choice(FIRST), rnd.choice(LAST), rnd.choice(COUNTRIES),
                        rnd.choice(LANGS), f"Org {i % 500}",
                        ",".join(rnd.sample(TAGS, rnd.randint(0, 2)))])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    n = 0
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[Subscriber] = []
        for row in reader:
            n += 1
            email = row[0]
            batch.append(Subscriber(email=f"b{n}-{email}", email_hash=email_hash(f"b{n}{email}"),
                                    name=f"{row[1]} {row[2]}"))
            if len(batch) == 2000:
                Subscriber.objects.bulk_create(batch)
                batch = []
        Subscriber.objects.bulk_create(batch)
    elapsed = time.perf_counter() - start
    Subscriber.objects.all().delete()
    return elapsed, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Subscriber.objects.exists():
        sys.exit("the database already holds subscribers; point DATABASE_URL at an empty one")
    path = TMP / "people.csv"
    make_csv(path, args.rows)
    size_mb = path.stat().st_size / 1e6
    print(f"database: {connection.vendor}; file: {args.rows} rows, {size_mb:.1f} MB")

    base_s, n = baseline(path)
    print(f"baseline  csv.reader + bulk_create: {n / base_s:10,.0f} rows/s  ({base_s:.2f} s)")

    mlist = MailingList.objects.create(slug="bench", name="Bench")
    before = rss_mb()
    start = time.perf_counter()
    with path.open("rb") as f:
        report = import_csv(f, mlist, source="benchmark")
    first_s = time.perf_counter() - start
    growth = rss_mb() - before
    print(f"import    subscribers.importer:      {args.rows / first_s:10,.0f} rows/s  "
          f"({first_s:.2f} s; {report.summary()})")
    start = time.perf_counter()
    with path.open("rb") as f:
        again = import_csv(f, mlist, source="benchmark")
    again_s = time.perf_counter() - start
    print(f"re-import same file:                 {args.rows / again_s:10,.0f} rows/s  "
          f"({again_s:.2f} s; {again.summary()})")
    print(f"import / baseline time: {first_s / base_s:.1f}x; peak RSS growth during import: "
          f"{growth:.0f} MB (file {size_mb:.0f} MB)")

    SubscriptionEvent.objects.all().delete()
    Subscriber.objects.all().delete()
    mlist.delete()
    Tag.objects.filter(name__in=TAGS).delete()


if __name__ == "__main__":
    main()
