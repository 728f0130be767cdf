"""``newsletter demo``: the whole service on the embedded default, in one command.

Migrates, creates an admin, loads the demo audience and the seed issue, starts a
local SMTP sink and a Celery worker, sends the issue to both lists, and reports.
Without ``--no-serve`` it then serves the web app until Ctrl-C.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.core.demo_data import demo_audience
from mailer.issues.services import issue_import
from mailer.sending.models import Send
from mailer.sink.server import SinkServer
from mailer.sink.store import sink_clear
from subscribers.models import MailingList

EXAMPLES = settings.BASE_DIR / "examples" / "issues"
ISSUE_SLUG = "iom-central-asia-03"
LISTS = [
    ("partners", "Partners", MailingList.Kind.PARTNER, MailingList.Visibility.PRIVATE),
    ("subscribers", "Subscribers", MailingList.Kind.PUBLIC, MailingList.Visibility.PUBLIC),
]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown of the worker (SIGTERM), then SIGKILL to its whole group if it lingers."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(worker.pid, signal.SIGKILL)  # pool children left behind, if any
    except ProcessLookupError:
        pass
    worker.wait()


class Command(BaseCommand):
    help = "Run the demo: sample lists, the seed issue, a local SMTP sink, a worker, one send."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true",
                            help="exit when the send is done instead of serving the web app")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="web server address")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.step("Migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        password = self.admin_account()
        distinct = self.audience()
        issue_id = self.seed_issue()
        sink = self.sink_start()
        worker = self.worker_start()
        # SIGTERM (a service manager, `kill`, a closed terminal) ends the demo the way
        # Ctrl-C does, so the worker and its pool processes are stopped, not orphaned.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            send_id = self.send(issue_id)
            self.report(send_id, distinct, password, serving=not opts["no_serve"], addr=opts["addr"])
            if not opts["no_serve"]:
                call_command("runserver", opts["addr"], use_reloader=False)
        except KeyboardInterrupt:
            self.stdout.write("  stopping the worker and the sink")
        finally:
            signal.signal(signal.SIGTERM, previous)
            worker_stop(worker)
            sink.stop()

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"» {text}"))

    def admin_account(self) -> str:
        self.step("Admin account")
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, created = user_model.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.org", "is_staff": True,
                                        "is_superuser": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"  {'created' if created else 'reset password of'} user 'admin'")
        return password

    def audience(self) -> int:
        self.step("Demo audience (Partners ~60, Subscribers ~200, some on both)")
        partners_csv, public_csv, distinct = demo_audience()
        demo_dir = settings.VAR_DIR / "demo"
        demo_dir.mkdir(parents=True, exist_ok=True)
        for (slug, name, kind, visibility), data in zip(LISTS, [partners_csv, public_csv],
                                                        strict=True):
            MailingList.objects.update_or_create(
                slug=slug, defaults={"name": name, "kind": kind, "visibility": visibility})
            path = demo_dir / f"{slug}.csv"
            path.write_bytes(data)
            out = StringIO()
            call_command("import_subscribers", str(path), "--list", slug, stdout=out, stderr=out)
            self.stdout.write("  " + out.getvalue().strip().splitlines()[-1])
        return distinct

    def seed_issue(self) -> int:
        self.step("Seed issue (IOM Central Asia newsletter, issue 3)")
        try:
            from mailer.issues.demo_media import install_demo_media

            install_demo_media(Path(settings.MEDIA_ROOT))
        except ImportError:
            pass
        sources = [EXAMPLES / f"{ISSUE_SLUG}.md", EXAMPLES / f"{ISSUE_SLUG}.ru.md"]
        if not sources[0].exists():
            sources = [settings.BASE_DIR / "tests" / "fixtures" / "iom-central-asia-issue-3.md"]
        issue_id = 0
        for path in sources:
            if path.exists():
                lang = "ru" if path.name.endswith(".ru.md") else "en"
                result = issue_import(path.read_text(encoding="utf-8"), language=lang,
                                      slug=ISSUE_SLUG, filename=path.name)
                issue_id = result.issue.pk
                self.stdout.write(f"  {path.name}: {lang} variant, revision {result.variant.revision}")
        return issue_id

    def sink_start(self) -> SinkServer:
        route = settings.SMTP_ROUTE
        if route.host not in {"127.0.0.1", "localhost", "::1"}:
            raise CommandError(f"SMTP_URL points at {route.label}; the demo only sends to a local "
                               "sink. Unset SMTP_URL (default smtp://127.0.0.1:2525).")
        self.step(f"Local SMTP sink on {route.label} (stores into {settings.SINK_DIR})")
        removed = sink_clear()
        if removed:
            self.stdout.write(f"  emptied the sink mailbox ({removed} messages from an earlier run)")
        try:
            return SinkServer(Path(settings.SINK_DIR), host=route.host, port=route.port).start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"cannot listen on {route.label}: {exc}. Is another demo running? "
                               "Stop it or set SMTP_URL=smtp://127.0.0.1:PORT.") from None

    def worker_start(self) -> subprocess.Popen[bytes]:
        self.step("Celery worker (with the reconciler's beat)")
        log = settings.VAR_DIR / "worker.log"
        cmd = [sys.executable, "-m", "celery", "-A", "mailer", "worker", "-B", "-c", "2",
               "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-s", str(settings.VAR_DIR / "celerybeat-schedule")]
        with log.open("ab") as log_file:
            # A process group of its own: stopping the demo stops the pool processes too.
            worker = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env={**os.environ, "LOG_LEVEL": "INFO"},
                                      stdout=log_file, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        time.sleep(2)
        if worker.poll() is not None:
            raise CommandError(f"the Celery worker exited at start (code {worker.returncode}); "
                               f"see {log}")
        self.stdout.write(f"  pid {worker.pid}, log {log}")
        return worker

    def send(self, issue_id: int) -> int:
        self.step("Sending the issue to Partners and Subscribers")
        # An issue reaches a person once, whatever the number of sends: a re-run of the
        # demo starts from a clean slate by removing the earlier demo sends of this issue.
        earlier = Send.objects.filter(issue_id=issue_id)
        if earlier.exists():
            removed = earlier.count()
            earlier.delete()
            self.stdout.write(f"  removed {removed} earlier demo send(s) of this issue")
        out = _LinesIndented(self.stdout)
        call_command("send_issue", str(issue_id), "--list", "partners", "--list", "subscribers",
                     "--wait", stdout=out)
        if out.send_id is None:
            raise CommandError("send_issue did not print the send's id; see the lines above")
        return out.send_id

    def report(self, send_id: int, distinct: int, password: str, *, serving: bool,
               addr: str) -> None:
        out = StringIO()
        call_command("send_status", str(send_id), "--json", stdout=out)
        status = json.loads(out.getvalue())
        received = len(list(Path(settings.SINK_DIR).glob("*.eml")))
        site = f"http://{addr}"
        self.step("Done")
        self.stdout.write(
            f"  send #{send_id}: {status.get('status')} — sent {status.get('sent')}, "
            f"failed {status.get('failed')}, bounced {status.get('bounced')}, "
            f"skipped {status.get('skipped')}\n"
            f"  distinct people on the two lists: {distinct}; messages in the sink: {received}\n"
            f"  admin:   {site}/admin/   user: admin   password: {password}\n"
            f"  mailbox: {site}/sink/   (every message the sink received, rendered)\n"
            f"  archive: {site}/archive/\n"
            f"  stored messages: {settings.SINK_DIR}"
        )
        if serving:
            self.stdout.write("  Serving the web app; press Ctrl-C to stop.")
        else:
            self.stdout.write(
                f"  Nothing serves these addresses now (--no-serve). To browse them:\n"
                f"    SINK_PAGES_PUBLIC=1 newsletter runserver {addr}\n"
                f"  or run the demo again without --no-serve.")



class _LinesIndented(io.TextIOBase):
    """send_issue's stdout, passed on indented as each line arrives, so "planned and
    queued" shows before the progress bar (on stderr) rather than after its 100 % line.
    The line that is the send's id alone is kept for the demo instead."""

    def __init__(self, out: Any) -> None:
        super().__init__()
        self._out = out
        self._partial = ""
        self.send_id: int | None = None

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if line.strip().isdigit():
                self.send_id = int(line)
            elif line:
                self._out.write("  " + line)
        return len(text)
