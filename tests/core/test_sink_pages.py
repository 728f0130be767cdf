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


@pytest.mark.django_db
def test_the_mailbox_page_shows_no_stored_message_internals(sink: SinkServer, client: Client) -> None:
    """Its list of mails once shared a name with the flash messages of the layout."""
    deliver(sink, "<p>hi</p>")
    content = client.get("/sink/").content.decode()
    assert "StoredMessage" not in content and "PosixPath" not in content


@pytest.mark.django_db
def test_the_mailbox_is_paginated_newest_first(sink: SinkServer, client: Client) -> None:
    import os

    for n in range(55):
        path = sink.directory / f"{n:032x}.eml"
        path.write_bytes(f"To: r{n}@example.org\r\nSubject: Mail {n}\r\n\r\nbody\r\n".encode())
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    first = client.get("/sink/").content.decode()
    second = client.get("/sink/?page=2").content.decode()
    assert "Mail 54" in first and "Mail 5<" in first and "Mail 4<" not in first
    assert "Mail 4<" in second and "Mail 0<" in second and "Mail 54" not in second
    assert "Page 1 of 2" in first


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
