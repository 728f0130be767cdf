"""STANDARDS row 5: the DKIM signature covers the one-click unsubscribe headers and verifies."""

from __future__ import annotations

import re
from pathlib import Path

import dkim

from mailer.signing.dkim_sign import DkimKey, dkim_sign

HERE = Path(__file__).parent
KEY = DkimKey(b"news", b"news.example.org", (HERE / "test-dkim-private.pem").read_bytes())
MESSAGE = (
    b"From: IOM Central Asia <newsletter@news.example.org>\r\n"
    b"To: reader@example.org\r\n"
    b"Subject: =?utf-8?b?0JLRi9C/0YPRgdC6IOKEljM=?=\r\n"
    b"Date: Tue, 14 Jul 2020 09:00:00 +0600\r\n"
    b"Message-ID: <1.2.abc@news.example.org>\r\n"
    b"List-Unsubscribe: <https://news.example.org/u/TOKEN/>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"List-Id: <partners.news.example.org>\r\n"
    b"Feedback-ID: 1:issue-3:newsletter:iomcanews\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello\r\n"
)


def dns(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"news._domainkey.news.example.org."
    return b"v=DKIM1; k=rsa; p=" + (HERE / "test-dkim-public.b64").read_bytes().strip()


def signed_headers(message: bytes) -> set[str]:
    header = message.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = re.sub(r"\r\n[ \t]+", " ", header)
    tags = re.search(r"^DKIM-Signature:(.*)$", unfolded, re.M | re.I)
    assert tags is not None
    h = re.search(r"\bh=([^;]+)", tags.group(1))
    assert h is not None
    return {name.strip().lower() for name in h.group(1).split(":")}


def test_the_signature_verifies_against_the_published_key() -> None:
    assert dkim.verify(dkim_sign(MESSAGE, KEY), dnsfunc=dns)


def test_it_signs_the_one_click_and_feedback_headers() -> None:
    covered = signed_headers(dkim_sign(MESSAGE, KEY))
    assert {"from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post",
            "feedback-id"} <= covered


def test_a_changed_unsubscribe_header_breaks_the_signature() -> None:
    signed = dkim_sign(MESSAGE, KEY).replace(b"/u/TOKEN/", b"/u/OTHER/")
    assert not dkim.verify(signed, dnsfunc=dns)


def test_signing_is_off_without_a_key(settings) -> None:  # type: ignore[no-untyped-def]
    from mailer.signing.dkim_sign import dkim_key

    settings.DKIM_PRIVATE_KEY_PATH = ""
    dkim_key.cache_clear()
    assert dkim_sign(MESSAGE) == MESSAGE
