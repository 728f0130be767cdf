from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.test import Client

from mailer.sink.server import SinkServer, free_port


@pytest.fixture
def sink(tmp_path: Path, settings) -> SinkServer:  # type: ignore[no-untyped-def]
    settings.SINK_DIR = tmp_path
    settings.SINK_PAGES_PUBLIC = True
    server = SinkServer(tmp_path, port=free_port()).start()
    yield server
    server.stop()


def deliver(sink: SinkServer, html: str) -> None:
    msg = EmailMessage()
    msg["From"] = "news@example.org"
    msg["To"] = "reader@example.org"
    msg["Subject"] = "Выпуск №3"
    msg.set_content("plain body")
    msg.add_alternative(html, subtype="html")
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.send_message(msg)


def test_it_stores_each_accepted_message_with_its_envelope(sink: SinkServer) -> None:
    deliver(sink, "<p>hi</p>")
    [path] = sink.messages()
    assert path.read_bytes().startswith(b"X-Envelope-From: news@example.org\r\n")


@pytest.mark.django_db
def test_the_mailbox_page_lists_received_messages(sink: SinkServer, client: Client) -> None:
    deliver(sink, "<p>hi</p>")
    page = client.get("/sink/")
    assert page.status_code == 200
    assert "Выпуск №3" in page.content.decode()


@pytest.mark.django_db
def test_the_html_part_is_served_in_a_sandbox(sink: SinkServer, client: Client) -> None:
    deliver(sink, "<p>hi</p><script>alert(1)</script>")
    key = sink.messages()[0].stem
    response = client.get(f"/sink/{key}/html")
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert "allow-scripts" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_it_refuses_paths_outside_the_mailbox(sink: SinkServer, client: Client) -> None:
    assert client.get("/sink/..%2f..%2fetc%2fpasswd/").status_code == 404
    assert client.get("/sink/0123/raw").status_code == 404


@pytest.mark.django_db
def test_the_mailbox_is_staff_only_when_not_public(sink: SinkServer, client: Client,
                                                     settings) -> None:  # type: ignore[no-untyped-def]
    settings.SINK_PAGES_PUBLIC = False
    response = client.get("/sink/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_debug_alone_does_not_open_the_mailbox() -> None:
    """Issue 10 (low): with DEBUG=1 the mailbox was public unless someone closed it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SINK_PAGES_PUBLIC"}
    probe = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'mailer.settings'; "
             "django.setup(); from django.conf import settings; "
             "print(settings.DEBUG, settings.SINK_PAGES_PUBLIC)")
    root = Path(__file__).resolve().parents[2]
    opened = subprocess.run([sys.executable, "-c", probe], cwd=root, text=True, capture_output=True,
                            env={**env, "DEBUG": "1"}, check=True).stdout.split()
    assert opened == ["True", "False"]
    demo = subprocess.run([sys.executable, "-c", probe], cwd=root, text=True, capture_output=True,
                          env={**env, "DEBUG": "1", "SINK_PAGES_PUBLIC": "1"}, check=True)
    assert demo.stdout.split() == ["True", "True"]
