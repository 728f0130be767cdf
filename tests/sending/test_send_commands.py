"""The send_issue, send_status and send_control management commands."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mailer.issues.models import Issue
from mailer.sending.models import Delivery, Send
from mailer.sink.server import SinkServer
from subscribers.models import MailingList, Subscriber
from tests.sending.conftest import sink_read

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_send_id_alone_on_the_last_line(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "partners", "--list", "public")
    last = out.strip().splitlines()[-1]
    send = Send.objects.get()
    assert last == str(send.pk) and send.status == "sending" and send.planned_count == 4


def test_it_accepts_an_issue_slug_and_an_excluded_list(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    run("send_issue", issue.slug, "--list", "public", "--exclude", "partners")
    assert list(Delivery.objects.values_list("email", flat=True)) == ["dina@gov.tj"]


def test_it_schedules_a_send_for_a_later_time_without_planning_it(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    at = (timezone.now() + timedelta(hours=2)).isoformat()
    out, _ = run("send_issue", str(issue.pk), "--list", "public", "--at", at)
    send = Send.objects.get(pk=int(out.strip().splitlines()[-1]))
    assert send.status == "scheduled" and not Delivery.objects.exists()


def test_it_refuses_an_unknown_list_and_creates_nothing(
        issue: Issue, lists: dict[str, MailingList]) -> None:
    with pytest.raises(CommandError, match="no list 'nope'"):
        run("send_issue", str(issue.pk), "--list", "nope")
    assert not Send.objects.exists()


def test_it_reports_status_as_one_json_object(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    status, _ = run("send_status", send_id, "--json")
    data = json.loads(status)
    assert data["id"] == int(send_id) and data["status"] == "sending"
    assert (data["planned"], data["pending"], data["sent"], data["failed"]) == (3, 3, 0, 0)
    assert {"status_reason", "bounced", "skipped", "retrying", "throughput",
            "eta_seconds"} <= set(data)


def test_it_pauses_and_resumes_a_send(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    run("send_control", send_id, "pause")
    assert Send.objects.get(pk=send_id).status == "paused"
    run("send_control", send_id, "resume")
    assert Send.objects.get(pk=send_id).status == "sending"


def test_it_refuses_to_resume_a_cancelled_send(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    run("send_control", send_id, "cancel")
    with pytest.raises(CommandError, match="is cancelled"):
        run("send_control", send_id, "resume")


def test_cancelling_records_unsent_recipients_as_skipped_and_keeps_other_outcomes(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "partners", "--list", "public")
    send_id = out.strip().splitlines()[-1]
    rows = Delivery.objects.filter(send_id=send_id)
    rows.filter(email="aida@ngo.kz").update(status="sent", smtp_code=250)
    rows.filter(email="bek@ngo.kg").update(status="sending", lease_owner="worker-1")
    rows.filter(email="chris@un.org").update(status="retrying", next_attempt_at=timezone.now())
    out, _ = run("send_control", send_id, "cancel")
    assert "2 recipients not yet mailed are recorded as skipped" in out
    outcomes = dict(rows.values_list("email", "status"))
    assert outcomes == {"aida@ngo.kz": "sent", "bek@ngo.kg": "sending",
                        "chris@un.org": "skipped", "dina@gov.tj": "skipped"}
    assert set(rows.filter(status="skipped").values_list("smtp_reply", flat=True)) == {
        "not sent: the send was cancelled"}


def test_it_exports_the_delivery_log_as_csv(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        tmp_path: Path) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    Delivery.objects.filter(email="dina@gov.tj").update(status="bounced", smtp_code=550,
                                                        smtp_reply="550 5.1.1\nunknown")
    target = tmp_path / "log.csv"
    run("send_report", send_id, "--csv", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert sorted(r["email"] for r in rows) == ["bek@ngo.kg", "chris@un.org", "dina@gov.tj"]
    dina = next(r for r in rows if r["email"] == "dina@gov.tj")
    assert (dina["status"], dina["smtp_code"], dina["smtp_reply"]) == (
        "bounced", "550", "550 5.1.1 unknown")


def test_it_exports_only_the_requested_statuses(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber],
        tmp_path: Path) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    Delivery.objects.filter(email="bek@ngo.kg").update(status="failed")
    target = tmp_path / "failed.csv"
    run("send_report", send_id, "--csv", str(target), "--status", "failed")
    assert [r["email"] for r in csv.DictReader(target.open(encoding="utf-8"))] == ["bek@ngo.kg"]


def test_it_sends_a_test_without_touching_the_ledger(
        issue: Issue, sink: SinkServer) -> None:
    out, _ = run("send_test", str(issue.pk), "--to", "editor@example.org", "--lang", "ru")
    assert "sent to editor@example.org" in out
    assert not Delivery.objects.exists() and not Send.objects.exists()
    (path,) = sink.messages()
    _, rcpt, raw = sink_read(path)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert rcpt == "editor@example.org" and str(msg["Subject"]).startswith("[TEST] ")


def test_it_retries_failed_deliveries_on_request(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    out, _ = run("send_issue", str(issue.pk), "--list", "public")
    send_id = out.strip().splitlines()[-1]
    Delivery.objects.update(status="sent")
    Delivery.objects.filter(email="bek@ngo.kg").update(status="failed", attempts=5)
    Send.objects.filter(pk=send_id).update(status="done")
    out, _ = run("send_control", send_id, "retry-failed")
    bek = Delivery.objects.get(email="bek@ngo.kg")
    assert "1 failed deliveries queued" in out and (bek.status, bek.attempts) == ("retrying", 0)
    assert Send.objects.get(pk=send_id).status == "sending"


class Screen:
    """A terminal behind two streams: stdout reaches it on flush (as when piped, or as
    Python's block buffering does), stderr at once (the progress bar)."""

    def __init__(self) -> None:
        self.text = ""
        self.stdout = Screen.Buffered(self)
        self.stderr = Screen.Unbuffered(self)

    class Unbuffered(io.TextIOBase):
        def __init__(self, screen: Screen) -> None:
            self.screen = screen

        def write(self, s: str) -> int:
            self.screen.text += s
            return len(s)

    class Buffered(Unbuffered):
        held = ""

        def write(self, s: str) -> int:
            self.held += s
            return len(s)

        def flush(self) -> None:
            self.screen.text, self.held = self.screen.text + self.held, ""


def test_it_says_planned_and_queued_before_drawing_the_progress_bar(
        issue: Issue, lists: dict[str, MailingList], audience: dict[str, Subscriber]) -> None:
    screen = Screen()
    call_command("send_issue", str(issue.pk), "--list", "partners", "--wait", "--timeout", "0",
                 stdout=screen.stdout, stderr=screen.stderr)
    screen.stdout.flush()
    assert screen.text.index("recipients planned and queued") < screen.text.index("[")
