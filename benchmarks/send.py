"""Sending benchmark: the whole pipeline beside a plain smtplib baseline, same run, same sink.

Measures, against one SMTP sink (Postfix's C ``smtp-sink`` if installed, else an
aiosmtpd sink, which is much slower and then the bottleneck — the report says which):

1. per-message build cost: our pre-encoded MIME path vs ``email.message.EmailMessage``;
2. baseline: a plain ``smtplib`` loop sending one pre-built message N times over 8
   threads (8 connections, one process; smtplib's own Python work per message, under one
   GIL, is what limits it), and the ceiling: the same message over raw pipelined sockets
   from one process per CPU, doing nearly nothing per message — what the sink and the
   kernel take — with the sink's CPU per message;
3. planning: ``send_start`` (one INSERT ... SELECT + batch cut) for N recipients;
4. the full pipeline: N recipients, the worker started as the project starts it
   (``celery -A mailer worker``: prefork, one process per CPU, SEND_CONNECTIONS_PER_WORKER
   SMTP connections each), PostgreSQL ledger, Redis broker; messages/s, CPU per message,
   peak RSS of all workers together, and where the time goes per message (the phase
   timers each batch logs: claim, build, rate limit, sign, SMTP, ledger).

Usage:
  python benchmarks/send.py [--recipients 100000] [--workers N] [--connections-per-worker N]
      [--baseline-threads 8] [--issue tests/fixtures/iom-central-asia-issue-3.md]
      [--database-url postgres://postgres@127.0.0.1:5432/nl_send_bench]
      [--broker-url redis://127.0.0.1:6379/14] [--sink auto|smtp-sink|aiosmtpd]

The database named by --database-url is emptied of subscribers and sends: its name
must contain "bench". In Redis the benchmark uses (and removes) only a queue of its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipients", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=0,
                   help="Celery worker processes (default: Celery's, one per CPU)")
    p.add_argument("--connections-per-worker", type=int, default=0,
                   help="SEND_CONNECTIONS_PER_WORKER for the workers (default: the setting's)")
    p.add_argument("--baseline-threads", type=int, default=8,
                   help="threads (one connection each) of the smtplib baseline")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--issue", type=Path, default=ROOT / "tests/fixtures/iom-central-asia-issue-3.md",
                   help="the issue to send, imported as English (default: the seed issue, "
                        "a 21 KB message; examples/issues/iom-central-asia-03.md, the demo's "
                        "richer layout of it, makes a 63 KB one)")
    p.add_argument("--database-url",
                   default=os.environ.get("BENCH_DATABASE_URL",
                                          "postgres://postgres@127.0.0.1:5432/nl_send_bench"))
    p.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL",
                                                          "redis://127.0.0.1:6379/14"))
    p.add_argument("--sink", choices=["auto", "smtp-sink", "aiosmtpd"], default="auto")
    p.add_argument("--plan-only", action="store_true",
                   help="only time planning (audience of --recipients), send nothing")
    p.add_argument("--json", action="store_true", help="also print one JSON line")
    return p.parse_args()


ARGS = parse_args()
if "bench" not in ARGS.database_url.rsplit("/", 1)[-1]:
    sys.exit("refusing: the benchmark empties its database; use a database whose name "
             "contains 'bench'")
os.environ["DATABASE_URL"] = ARGS.database_url
os.environ["CELERY_BROKER_URL"] = ARGS.broker_url
os.environ["REDIS_URL"] = ARGS.broker_url
# A queue of its own: the Redis db may be shared with test runs, so the benchmark
# neither flushes it nor consumes anyone else's tasks.
BENCH_QUEUE = f"send-bench-{os.getpid()}"
os.environ["SEND_TASK_QUEUE"] = BENCH_QUEUE
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailer.settings")
os.environ.setdefault("SITE_URL", "https://news.example.org")
# Production-like: DEBUG off (Django would otherwise keep every SQL query in memory).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
# Required with DEBUG off; the workers are pointed at the benchmark's own sink.
os.environ.setdefault("SMTP_URL", "smtp://127.0.0.1:25")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_ensure(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg.connect(host=parts.hostname, port=parts.port or 5432,
                            user=parts.username or "postgres", dbname="postgres",
                            autocommit=True)
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


class Sink:
    def __init__(self, kind: str):
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.server: Any = None
        smtp_sink = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink"
                                                  if Path("/usr/sbin/smtp-sink").exists() else None)
        self.kind = "smtp-sink" if kind in ("auto", "smtp-sink") and smtp_sink else "aiosmtpd"
        if kind == "smtp-sink" and not smtp_sink:
            sys.exit("smtp-sink not found: install Debian's postfix package or use --sink aiosmtpd")
        if self.kind == "smtp-sink":
            user = ["-u", "postfix"] if os.geteuid() == 0 else []
            self.proc = subprocess.Popen([str(smtp_sink), *user, f"127.0.0.1:{self.port}", "1024"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            from mailer.sink.server import SinkServer

            class Discard:
                async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                    return "250 2.0.0 Ok: discarded"

            self.server = SinkServer(Path(tempfile.mkdtemp()), port=self.port,
                                     handler=Discard()).start()
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("the sink did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)
        if self.server:
            self.server.stop()


def _baseline_thread(port: int, message: bytes, count: int, sent: list[int]) -> None:
    conn = smtplib.SMTP("127.0.0.1", port)
    conn.ehlo()
    for i in range(count):
        conn.mail("bounces@bounce.example.org")
        conn.rcpt(f"r{i}@load.example")
        conn.data(message)
    conn.quit()
    sent.append(count)


def baseline(port: int, message: bytes, total: int, threads: int) -> dict[str, float]:
    """Plain smtplib: copies of one pre-built message over ``threads`` threads, one
    connection each, in a process of its own; no database, no broker, no per-recipient
    work."""
    ctx = multiprocessing.get_context("fork")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = ctx.Process(target=_baseline_run, args=(port, message, total, threads))
    proc.start()
    proc.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sent = total // threads * threads
    return {"messages": sent, "seconds": wall, "rate": sent / wall, "cpu_seconds": cpu,
            "threads": threads}


def _raw_thread(port: int, wire: bytes, count: int) -> None:
    """Pipelined MAIL/RCPT/DATA, then the pre-dot-stuffed message: the least a client can
    do per message."""
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as replies:
        def reply() -> bytes:
            while (line := replies.readline())[3:4] == b"-":
                pass
            return line

        reply()
        sock.sendall(b"EHLO bench.example\r\n")
        reply()
        for i in range(count):
            sock.sendall(b"MAIL FROM:<bounces@bounce.example.org>\r\nRCPT TO:<r%d@load.example>"
                         b"\r\nDATA\r\n" % i)
            if not (reply().startswith(b"250") and reply().startswith(b"250")
                    and reply().startswith(b"354")):
                sys.exit("the raw baseline was refused")
            sock.sendall(wire)
            reply()
        sock.sendall(b"QUIT\r\n")


def raw_ceiling(port: int, message: bytes, total: int, processes: int, threads: int,
                sink_pid: int | None) -> dict[str, float]:
    """What the sink and the kernel take when the client does nearly nothing per message:
    ``processes`` x ``threads`` raw sockets. Also the sink's own CPU per message."""
    ctx = multiprocessing.get_context("fork")
    wire = re.sub(rb"(?m)^\.", b"..", message) + b".\r\n"
    per = total // (processes * threads)
    sink_before = _proc_cpu(sink_pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    pool = [ctx.Process(target=_raw_run, args=(port, wire, per, threads))
            for _ in range(processes)]
    for proc in pool:
        proc.start()
    for proc in pool:
        proc.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sent = per * processes * threads
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sink_cpu = _proc_cpu(sink_pid) - sink_before
    return {"messages": sent, "rate": sent / wall, "client_cpu_ms": cpu / sent * 1000,
            "sink_cpu_ms": sink_cpu / sent * 1000 if sink_pid else 0.0,
            "processes": processes, "threads": threads}


def _raw_run(port: int, wire: bytes, count: int, threads: int) -> None:
    import threading

    pool = [threading.Thread(target=_raw_thread, args=(port, wire, count))
            for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def _proc_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (0 when it cannot be read)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _baseline_run(port: int, message: bytes, total: int, threads: int) -> None:
    import threading

    sent: list[int] = []
    pool = [threading.Thread(target=_baseline_thread,
                             args=(port, message, total // threads, sent))
            for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if sum(sent) != total // threads * threads:
        sys.exit("the baseline lost a connection")


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def main() -> None:
    database_ensure(ARGS.database_url)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(ARGS.broker_url).delete(BENCH_QUEUE)

    from mailer.issues.services import issue_import
    from mailer.sending.compose import MessageFactory
    from mailer.sending.models import Delivery, Send
    from mailer.sending.planning import send_create, send_start
    from subscribers.models import MailingList

    n = ARGS.recipients
    workers = ARGS.workers
    sink = Sink(ARGS.sink)
    results: dict[str, Any] = {"recipients": n, "workers": workers or os.cpu_count(),
                               "sink": sink.kind, "cpus": os.cpu_count()}
    try:
        with connection.cursor() as cur:
            cur.execute("TRUNCATE sending_delivery, sending_sendbatch, sending_send_lists, "
                        "sending_send_excluded_lists, sending_send, subscribers_subscription, "
                        "subscribers_subscriber, subscribers_suppression CASCADE")
        issue = issue_import(ARGS.issue.read_text(encoding="utf-8"), language="en",
                             slug="bench-issue").issue
        mlist, _ = MailingList.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO subscribers_subscriber (email, email_hash, name, organisation, "
                "country, language, attributes, status, created_at, updated_at) "
                "SELECT 'r' || i || '@load.example', encode(sha256(('r' || i || "
                "'@load.example')::bytea), 'hex'), 'Reader ' || i, '', '', 'en', '{}', "
                "'active', now(), now() FROM generate_series(1, %s) i", [n])
            cur.execute(
                "INSERT INTO subscribers_subscription (subscriber_id, mailing_list_id, status, "
                "consent_method, consent_source, consent_text, created_at, updated_at) "
                "SELECT id, %s, 'confirmed', 'import', '', '', now(), now() "
                "FROM subscribers_subscriber", [mlist.pk])
        results["audience_setup_seconds"] = time.perf_counter() - t

        # 1. per-message build cost, fast path vs the email package
        results.update(build_costs(issue))

        # 3. planning
        from django.conf import settings

        settings.SEND_BATCH_SIZE = ARGS.batch_size
        if ARGS.plan_only:
            results.update(plan_only(issue, mlist))
            print(f"planning {results['planned']} recipients (one INSERT ... SELECT, "
                  f"{results['batches']} batches, incl. ANALYZE): {results['plan_seconds']:.2f} s; "
                  f"audience setup {results['audience_setup_seconds']:.1f} s")
            print(f"a second send of the same issue to the same list (all already reached): "
                  f"{results['second_plan_seconds']:.2f} s, {results['second_planned']} planned")
            bare = results["plan_baseline_seconds"]
            print(f"baseline, same run: a bare INSERT ... SELECT of as many ledger rows, same "
                  f"indexes and constraint, "
                  f"{bare:.2f} s; planning = {results['plan_seconds'] / bare:.2f}x the baseline")
            backend = results["backend_peak_rss_mb"]
            print(f"planning memory: this process peak RSS {results['python_peak_rss_mb']:.0f} MB "
                  f"({results['python_rss_before_mb']:.0f} MB before planning); PostgreSQL backend "
                  f"peak RSS {f'{backend:.0f} MB' if backend is not None else 'not readable'}")
            return
        send = send_create(issue, [mlist])
        t = time.perf_counter()
        result = send_start(send.pk)  # batches are published to Redis on commit
        results["plan_seconds"] = time.perf_counter() - t
        results["planned"] = result.planned if result else 0

        # 2. baseline with a real message of this issue
        factory = MessageFactory(Send.objects.get(pk=send.pk))
        row = Delivery.objects.filter(send=send).select_related("subscriber").first()
        assert row is not None and row.subscriber is not None
        message = factory.build(row.variant_id, factory.recipient(
            row.pk, row.subscriber_id or 0, row.email, row.subscriber.name, "",
            row.mailing_list_id)).data
        results["message_bytes"] = len(message)
        results["baseline"] = baseline(sink.port, message, n, ARGS.baseline_threads)
        results["raw"] = raw_ceiling(sink.port, message, n, os.cpu_count() or 2,
                                     ARGS.baseline_threads, sink.proc.pid if sink.proc else None)

        # 4. the full pipeline
        results["pipeline"] = pipeline(send.pk, sink.port, workers)
    finally:
        sink.stop()
        redis.Redis.from_url(ARGS.broker_url).delete(BENCH_QUEUE)
    report(results)


def plan_only(issue: Any, mlist: Any) -> dict[str, Any]:
    from django.db import connection

    from mailer.sending.models import Send
    from mailer.sending.planning import send_create, send_plan

    if connection.vendor == "postgresql":
        # A settled audience, as autovacuum leaves it within a minute of an import: the
        # first reader of freshly written rows would otherwise pay for setting their
        # hint bits (the 30 s of earlier runs measured that, not planning).
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) subscribers_subscriber, subscribers_subscription")
    send = send_create(issue, [mlist])
    baseline_seconds = bare_ledger_insert(send, issue, mlist)
    checkpoint()  # the baseline's writes are not left for the plan to flush
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
        backend_pid = int(cur.fetchone()[0])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    result = send_plan(send)  # no status change, nothing is queued
    seconds = time.perf_counter() - t
    # A second send of the same issue to the same list: everyone is reached already, so
    # this times the check against the first send's 1,000,000 fresh ledger rows.
    Send.objects.filter(pk=send.pk).update(status=Send.Status.SENDING)
    checkpoint()
    t = time.perf_counter()
    second = send_plan(send_create(issue, [mlist]))
    second_seconds = time.perf_counter() - t
    return {"plan_seconds": seconds, "planned": result.planned, "batches": result.batches,
            "plan_baseline_seconds": baseline_seconds,
            "second_plan_seconds": second_seconds, "second_planned": second.planned,
            "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "python_rss_before_mb": rss_before,
            "backend_peak_rss_mb": proc_peak_rss_mb(backend_pid)}


def bare_ledger_insert(send: Any, issue: Any, mlist: Any) -> float:
    """Baseline for planning, same run: as many ledger rows written by one bare
    ``INSERT ... SELECT`` of every subscriber (no audience rules, no batch cut) into a
    scratch copy of the ledger table with the same columns, indexes and database
    constraint (the subscriber reference), committed, then dropped (rows rolled back in
    the real table would slow the plan that follows)."""
    from django.db import connection, transaction

    variant_id = issue.variants.values_list("pk", flat=True).first()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_ledger_copy")
        cur.execute("CREATE TABLE bench_ledger_copy (LIKE sending_delivery INCLUDING ALL)")
        cur.execute("ALTER TABLE bench_ledger_copy ADD FOREIGN KEY (subscriber_id) "
                    "REFERENCES subscribers_subscriber (id) DEFERRABLE INITIALLY DEFERRED")
        checkpoint()
        try:
            t = time.perf_counter()
            with transaction.atomic():
                cur.execute(
                    "INSERT INTO bench_ledger_copy (send_id, subscriber_id, email, variant_id, "
                    "mailing_list_id, status, attempts, lease_owner, smtp_reply, message_id, "
                    "possibly_duplicated, updated_at) SELECT %s, id, email, %s, %s, 'pending', "
                    "0, '', '', '', false, now() FROM subscribers_subscriber",
                    [send.pk, variant_id, mlist.pk])
            return time.perf_counter() - t
        finally:
            cur.execute("DROP TABLE bench_ledger_copy")


def checkpoint() -> None:
    """Flush PostgreSQL's dirty pages now, so that the next timed step starts clean
    rather than paying for the previous one's writes (needs a superuser)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
    except DatabaseError:
        pass


def proc_peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a local process (the PostgreSQL backend that ran the plan), if readable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def build_costs(issue: Any) -> dict[str, float]:
    import email.policy
    from email.message import EmailMessage

    from mailer.issues.services import variant_compiled
    from mailer.sending.compose import merge_values
    from mailer.sending.mime import MessageTemplate, Recipient

    variant = issue.variants.get(language="en")
    compiled = variant_compiled(variant)
    template = MessageTemplate(send_id=1, feedback_campaign="send1", subject=variant.subject,
                               from_name="", text_parts=compiled.text.parts,
                               html_parts=compiled.html.parts)
    rounds = 2000
    t = time.process_time()
    for i in range(rounds):
        rcpt = Recipient(i, i, f"r{i}@load.example", f"Reader {i}", "", 1, "bench")
        template.build(rcpt, merge_values(rcpt, web="https://news.example.org/a/"))
    fast = (time.process_time() - t) / rounds
    policy = email.policy.SMTP.clone(max_line_length=76)
    t = time.process_time()
    for i in range(rounds // 10):
        rcpt = Recipient(i, i, f"r{i}@load.example", f"Reader {i}", "", 1, "bench")
        values = merge_values(rcpt, web="https://news.example.org/a/")
        msg = EmailMessage(policy=policy)
        msg["Subject"] = variant.subject
        msg["To"] = rcpt.email
        msg.set_content(compiled.text.render(values, escape_html=False), cte="quoted-printable")
        msg.add_alternative(compiled.html.render(values, escape_html=True), subtype="html",
                            cte="quoted-printable")
        msg.as_bytes()
    slow = (time.process_time() - t) / (rounds // 10)
    return {"build_fast_ms": fast * 1000, "build_email_package_ms": slow * 1000}


PHASES = ("claim", "build", "rate_limit", "sign", "smtp", "ledger", "wait", "cpu")
PROFILE = re.compile(r"batch \d+\.\.\d+: sent (\d+).*; profile \(seconds\) (.*)$")


def pipeline(send_id: int, port: int, workers: int) -> dict[str, Any]:
    from django.db.models import Max, Min

    from mailer.sending.models import Delivery, Send

    env = {**os.environ, "SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=30",
           "CELERY_SKIP_CHECKS": "1", "LOG_LEVEL": "INFO"}  # INFO: each batch logs its timers
    if ARGS.connections_per_worker:
        env["SEND_CONNECTIONS_PER_WORKER"] = str(ARGS.connections_per_worker)
    concurrency = [f"-c{workers}"] if workers else []  # default: as the project starts it
    log_file = tempfile.NamedTemporaryFile(prefix="send-bench-worker-", suffix=".log",
                                           delete=not os.environ.get("BENCH_KEEP_LOG"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mailer", "worker", *concurrency, "-Q", BENCH_QUEUE,
         "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, start_new_session=True, stdout=log_file, stderr=subprocess.STDOUT)
    peak = 0
    try:
        while True:
            peak = max(peak, tree_rss_bytes(proc.pid))
            status = Send.objects.filter(pk=send_id).values_list("status", flat=True).get()
            if status != "sending" or proc.poll() is not None:
                break
            time.sleep(0.25)
        wall = time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = Delivery.objects.filter(send_id=send_id)
    sent = rows.filter(status="sent").count()
    span = rows.aggregate(a=Min("sent_at"), b=Max("sent_at"))
    steady = (span["b"] - span["a"]).total_seconds() if span["a"] else 0.0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"messages": sent, "status": status, "seconds_with_startup": wall,
            "rate_with_startup": sent / wall, "seconds_first_to_last": steady,
            "rate": sent / steady if steady else 0.0, "cpu_seconds": cpu,
            "peak_rss_mb": peak / 2**20, "profile": profile_read(Path(log_file.name))}


def profile_read(log: Path) -> dict[str, float]:
    """The phase timers of every batch the workers logged, summed: seconds per phase and
    the messages they sent."""
    total = dict.fromkeys(PHASES, 0.0) | {"messages": 0.0, "batches": 0.0}
    for line in log.read_text(errors="replace").splitlines():
        if (m := PROFILE.search(line)) is None:
            continue
        total["messages"] += int(m.group(1))
        total["batches"] += 1
        for pair in m.group(2).split():
            name, _, value = pair.partition("=")
            if name in total:
                total[name] += float(value)
    return total


def report(r: dict[str, Any]) -> None:
    b, p = r["baseline"], r["pipeline"]
    load = os.getloadavg()
    print(f"sink: {r['sink']}; {r['cpus']} CPUs; {r['recipients']} recipients; "
          f"issue {ARGS.issue.name}, message {r['message_bytes'] / 1024:.1f} KB; load average at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"build one message: fast path {r['build_fast_ms']:.3f} ms, email package "
          f"{r['build_email_package_ms']:.2f} ms "
          f"({r['build_email_package_ms'] / r['build_fast_ms']:.0f}x)")
    print(f"planning {r['planned']} recipients: {r['plan_seconds']:.2f} s")
    print(f"baseline smtplib, {b['threads']} threads: {b['rate']:.0f} msg/s "
          f"({b['messages']} in {b['seconds']:.1f} s, CPU {b['cpu_seconds']:.1f} s)")
    raw = r["raw"]
    print(f"ceiling, raw sockets ({raw['processes']} processes x {raw['threads']} threads, "
          f"pipelined, pre-stuffed, nothing per message): {raw['rate']:.0f} msg/s; client CPU "
          f"{raw['client_cpu_ms']:.3f} ms per message, sink CPU {raw['sink_cpu_ms']:.3f} ms "
          "per message")
    per_msg = p["cpu_seconds"] / p["messages"] * 1000 if p["messages"] else 0.0
    print(f"pipeline, {r['workers']} worker processes: {p['rate']:.0f} msg/s end to end, first "
          f"to last recorded delivery ({p['rate_with_startup']:.0f} msg/s incl. worker start), "
          f"{p['messages']} sent, status {p['status']}")
    print(f"pipeline / baseline: {p['rate'] / b['rate']:.2f}; pipeline / ceiling: "
          f"{p['rate'] / raw['rate']:.2f}")
    print(f"worker CPU: {p['cpu_seconds']:.1f} s = {per_msg:.3f} ms per message; peak RSS of "
          f"all workers {p['peak_rss_mb']:.0f} MB")
    prof = p["profile"]
    if prof["messages"]:
        n = prof["messages"]
        parts = ", ".join(f"{name} {prof[name] / n * 1000:.3f}" for name in PHASES)
        print(f"per message (ms, summed over {prof['batches']:.0f} batches; smtp is summed "
              f"over the connections, which overlap): {parts}")
    if ARGS.json:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
