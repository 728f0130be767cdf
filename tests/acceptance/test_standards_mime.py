"""STANDARDS.md rows 12, 14 and 15: the MIME structure and the raw lines of every message
the real send pipeline delivered to the SMTP sink."""

from __future__ import annotations

from email.message import EmailMessage

from subscribers.models import Subscriber
from tests.acceptance.conftest import Received, SendOutcome


def parts(m: Received) -> list[EmailMessage]:
    out = list(m.message.iter_parts())
    assert all(isinstance(p, EmailMessage) for p in out)
    return out  # type: ignore[return-value]


# --- row 12: multipart/alternative, text first, html last, UTF-8 ---------------------------

def test_row_12_the_message_is_multipart_alternative_text_then_html(sent: SendOutcome) -> None:
    for m in sent.messages:
        assert m.message.get_content_type() == "multipart/alternative", m.envelope_to
        assert [p.get_content_type() for p in parts(m)] == ["text/plain", "text/html"]


def test_row_12_both_parts_are_utf_8(sent: SendOutcome) -> None:
    for m in sent.messages:
        for part in parts(m):
            assert part.get_content_charset() == "utf-8", (m.envelope_to, part["Content-Type"])
            part.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]


def test_row_12_the_russian_variant_decodes_to_cyrillic_text(
        sent: SendOutcome, people: dict[str, Subscriber]) -> None:
    m = sent.to(people["zhanna"])
    assert "Здравствуйте, Жанна!" in m.text
    assert "Здравствуйте, Жанна!" in m.html


# --- row 14: lines of at most 998 characters, CRLF, encoded HTML ------------------------------

def test_row_14_every_raw_line_is_at_most_998_characters(sent: SendOutcome) -> None:
    for m in sent.messages:
        longest = max(len(line) for line in m.raw.split(b"\r\n"))
        assert longest <= 998, (m.envelope_to, longest)


def test_row_14_every_line_ends_in_crlf(sent: SendOutcome) -> None:
    for m in sent.messages:
        assert m.raw.endswith(b"\r\n")
        assert b"\n" not in m.raw.replace(b"\r\n", b""), f"bare LF to {m.envelope_to}"
        assert b"\r" not in m.raw.replace(b"\r\n", b""), f"bare CR to {m.envelope_to}"


def test_row_14_the_html_is_sent_quoted_printable_or_base64(sent: SendOutcome) -> None:
    for m in sent.messages:
        for part in parts(m):
            assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64"), (
                m.envelope_to, part.get_content_type())


# --- row 15: quoted-printable lines of at most 76 characters ----------------------------------

def test_row_15_every_quoted_printable_body_line_is_at_most_76_characters(
        sent: SendOutcome) -> None:
    checked = 0
    for m in sent.messages:
        for part in parts(m):
            if part["Content-Transfer-Encoding"] != "quoted-printable":
                continue
            encoded = part.get_payload(decode=False)
            assert isinstance(encoded, str)
            lines = encoded.split("\r\n") if "\r\n" in encoded else encoded.splitlines()
            too_long = [line for line in lines if len(line) > 76]
            assert not too_long, (m.envelope_to, part.get_content_type(), too_long[:1])
            checked += 1
    assert checked == 2 * len(sent.messages)


def test_row_15_quoted_printable_lines_are_also_short_in_the_raw_bytes(sent: SendOutcome) -> None:
    """Independent of the parser: every line after the header block is body or MIME
    structure, and none of it may pass 76 characters."""
    for m in sent.messages:
        body = m.raw.split(b"\r\n\r\n", 1)[1]
        longest = max(len(line) for line in body.split(b"\r\n"))
        assert longest <= 76, (m.envelope_to, longest)
