"""Per-recipient MIME messages built from bytes encoded once per variant.

Building a 46 KB message with ``email.message.EmailMessage`` costs ~5 ms, almost all
of it pure-Python quoted-printable (DESIGN.md, Performance model). Instead, each
literal part of the compiled HTML and text is QP-encoded once per variant with
``binascii.b2a_qp`` and every encoded chunk ends with a soft line break
(``=\\r\\n``, RFC 2045 §6.7 rule 5). A per-recipient value, encoded the same way,
then always starts on a fresh line, so splicing never makes a line longer than
76 characters and the decoded body equals the merged text exactly.

The header block is ASCII: non-ASCII subjects and display names become RFC 2047
encoded words (Cyrillic). Lines end in CRLF (RFC 5322 §2.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from django.conf import settings

from mailer.rendering.merge import MergeField
from mailer.sending.verp import unsubscribe_address

CRLF = b"\r\n"
QP_MAX_LINE = 76  # RFC 2045 §6.7 (5)
Part = bytes | MergeField


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


HEADER_UNSAFE_URL = re.compile(r"[\s<>]")  # \s: what str.isspace() calls whitespace
PLAIN_VALUE = re.compile(r"[\x20-\x3c\x3e-\x7e]+")  # printable ASCII but "=": QP leaves it as is
QP_PIECE = QP_MAX_LINE - 1  # characters before a soft line break


@lru_cache(maxsize=1024)
def qp_encode_chunk(text: str) -> bytes:
    """QP-encode ``text`` so that the result can be followed by any other chunk.

    The result ends either with a hard line break (the text ended with one) or a
    soft line break, so the next chunk starts at column 0. Cached: many values repeat
    from one recipient to the next (the web-version link, an organisation).
    """
    if not text:
        return b""
    if PLAIN_VALUE.fullmatch(text):
        # The common per-recipient value (a URL, a name in Latin letters): nothing to
        # escape, only lines to cut (RFC 2045 §6.7 rules 2 and 5). A space before a soft
        # break is not trailing whitespace: the "=" follows it.
        data = text.encode("ascii")
        return b"".join(data[i:i + QP_PIECE] + b"=" + CRLF
                        for i in range(0, len(data), QP_PIECE))
    data = _crlf(text).encode("utf-8")
    out = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    # b2a_qp uses "\n" for soft breaks when the input has no CRLF at all.
    out = out.replace(b"\r\n", b"\n").replace(b"\n", CRLF)
    if out.endswith(CRLF) and data.endswith(CRLF):
        return out
    last_start = out.rfind(CRLF) + 2 if CRLF in out else 0
    last = out[last_start:]
    if len(last) + 1 > QP_MAX_LINE:
        cut = QP_MAX_LINE - 3
        # never split an "=XX" escape
        while b"=" in last[max(0, cut - 2):cut]:
            cut -= 1
        last = last[:cut] + b"=" + CRLF + last[cut:]
    return out[:last_start] + last + b"=" + CRLF


def header_encode(name: str, value: str) -> bytes:
    """One header field, folded, ASCII-only (RFC 2047 encoded words if needed)."""
    value = " ".join(value.split())  # no CR/LF from data can reach the header block
    charset = "us-ascii" if value.isascii() else "utf-8"
    # maxlinelen 75 keeps each encoded word within RFC 2047 §2's 75 characters
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n", maxlinelen=75)
    return f"{name}: {folded}".encode("ascii") + CRLF


def reply_to_header(address: str) -> bytes:
    """``Reply-To:`` for the brand's reply-to address, or nothing when none is set. The
    brand form refuses line breaks; checked again here because a header is the one place
    where a CR or LF turns data into more headers (RFC 5322 §2.2)."""
    if not address:
        return b""
    if any(c in address for c in "\r\n<>,;") or not address.isascii() or "@" not in address:
        raise ValueError(f"reply-to address {address!r} cannot go into a header")
    return f"Reply-To: {address}\r\n".encode("ascii")


def address_encode(display_name: str, address: str) -> str:
    """``Name <addr>``; a non-ASCII name as encoded words of whole words, each ≤ 75 chars."""
    display_name = " ".join(display_name.split())
    if not display_name:
        return address
    if display_name.isascii():
        return formataddr((display_name, address))
    return f"{encoded_words(display_name)} <{address}>"


ENCODED_WORD_BYTES = 45  # 60 base64 chars + "=?utf-8?b??=" = 72 <= 75 (RFC 2047 §2)


def encoded_words(text: str) -> str:
    """RFC 2047 B-encoded words that do not cut a word in two (unless one word alone is
    longer than an encoded word can hold). A decoder joins adjacent encoded words without
    the folding space between them (§6.2), so each space travels inside an encoded word:
    at the end of the one before, or, when that one is full, at the start of the next."""
    words = [w.encode() for w in text.split(" ")]
    chunks: list[bytes] = []
    current = b""
    for i, word in enumerate(words):
        if current.strip() and len(current) + len(word) > ENCODED_WORD_BYTES:
            chunks.append(current)
            current = b""
        while len(current) + len(word) > ENCODED_WORD_BYTES:  # cut between characters
            cut = ENCODED_WORD_BYTES - len(current)
            while cut and (word[cut] & 0xC0) == 0x80:
                cut -= 1
            chunks.append(current + word[:cut])
            current, word = b"", word[cut:]
        current += word
        if i < len(words) - 1:
            if len(current) < ENCODED_WORD_BYTES:
                current += b" "
            else:
                chunks.append(current)
                current = b" "
    chunks.append(current)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(c).decode()}?=" for c in chunks if c)


def message_id_for(send_id: int, subscriber_id: int) -> str:
    """Deterministic per (send, subscriber): a re-sent copy carries the same id, so
    receiving systems can spot the duplicate (DESIGN.md invariant 3)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"mid:{send_id}:{subscriber_id}".encode(),
                      hashlib.sha256).hexdigest()[:12]
    return f"<{send_id}.{subscriber_id}.{digest}@{settings.MAIL_DOMAIN}>"


_date_last: tuple[int, bytes] = (0, b"")


def date_header(date: datetime | None = None) -> bytes:
    """``Date:`` of ``date``, or of now; now's is formatted once per second (a send
    formats thousands a second, and the field has no finer resolution)."""
    global _date_last
    if date is not None:
        return f"Date: {format_datetime(date)}\r\n".encode()
    second = int(time.time())
    if _date_last[0] != second:
        when = format_datetime(datetime.fromtimestamp(second, UTC))
        _date_last = (second, f"Date: {when}\r\n".encode())
    return _date_last[1]


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    organisation: str
    list_id: int | None
    list_slug: str


@dataclass(frozen=True)
class BuiltMessage:
    message_id: str
    data: bytes


def _parts_encode(parts: Sequence[str | MergeField]) -> list[Part]:
    return [qp_encode_chunk(p) if isinstance(p, str) else p for p in parts]


LEADING_DOT = re.compile(rb"(?m)^\.")


def dot_stuff(chunk: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency. Valid per chunk because every chunk of our
    messages starts at the beginning of a line."""
    return LEADING_DOT.sub(b"..", chunk) if b"." in chunk else chunk


def _stuff_all(parts: list[Part]) -> list[Part]:
    return [dot_stuff(p) if isinstance(p, bytes) else p for p in parts]


class MessageTemplate:
    """Everything about a message that is the same for all recipients of a variant."""

    def __init__(self, *, send_id: int, feedback_campaign: str, subject: str, from_name: str,
                 text_parts: Sequence[str | MergeField], html_parts: Sequence[str | MergeField],
                 reply_to: str = ""):
        self.send_id = send_id
        self.feedback_campaign = feedback_campaign
        default_name, from_addr = parseaddr(settings.DEFAULT_FROM_EMAIL)
        self.from_addr = from_addr
        self.head = (header_encode("Subject", subject)
                     + b"From: " + address_encode(from_name or default_name, from_addr).encode()
                     + CRLF + reply_to_header(reply_to) + b"MIME-Version: 1.0" + CRLF)
        # "=_" cannot occur in QP-encoded text ("=" is always escaped), so the
        # boundary never collides with the body (RFC 2046 §5.1.1).
        seed = hashlib.sha256(f"{send_id}:{subject}".encode()).hexdigest()[:24]
        self.boundary = f"=_nl_{seed}".encode()
        self.text_parts = _parts_encode(text_parts)
        self.html_parts = _parts_encode(html_parts)
        # The same chunks dot-stuffed once, so the SMTP path never rescans 50 KB per message.
        self.text_wire = _stuff_all(self.text_parts)
        self.html_wire = _stuff_all(self.html_parts)

    def build(self, rcpt: Recipient, values: Mapping[str, str], *, date: datetime | None = None,
              smtp: bool = False) -> BuiltMessage:
        """The message for ``rcpt``. With ``smtp=True`` the bytes are already dot-stuffed
        for the DATA command (``SmtpSession.deliver``); otherwise plain RFC 5322."""
        text_parts, html_parts = ((self.text_wire, self.html_wire) if smtp
                                  else (self.text_parts, self.html_parts))
        message_id = message_id_for(self.send_id, rcpt.subscriber_id)
        b = self.boundary
        out = [
            date_header(date),
            b"To: " + address_encode(rcpt.name, rcpt.email).encode() + CRLF,
            self.head,
            f"Message-ID: {message_id}\r\n".encode(),
            *self._list_headers(rcpt, values),
            b'Content-Type: multipart/alternative; boundary="' + b + b'"' + CRLF,
            CRLF,
            b"--" + b + CRLF,
            b'Content-Type: text/plain; charset="utf-8"' + CRLF,
            b"Content-Transfer-Encoding: quoted-printable" + CRLF + CRLF,
            *_splice(text_parts, values, escape_html=False, smtp=smtp),
            CRLF + b"--" + b + CRLF,
            b'Content-Type: text/html; charset="utf-8"' + CRLF,
            b"Content-Transfer-Encoding: quoted-printable" + CRLF + CRLF,
            *_splice(html_parts, values, escape_html=True, smtp=smtp),
            CRLF + b"--" + b + b"--" + CRLF,
        ]
        return BuiltMessage(message_id, b"".join(out))

    def _list_headers(self, rcpt: Recipient, values: Mapping[str, str]) -> list[bytes]:
        slug = rcpt.list_slug or "newsletter"
        url = values["unsubscribe_url"]
        if HEADER_UNSAFE_URL.search(url):
            raise ValueError(f"unsubscribe URL {url!r} cannot go into a header")
        # RFC 8058: exactly one https URI plus the One-Click POST marker; RFC 2369:
        # a mailto for clients that unsubscribe by mail (not for test sends, which
        # have no delivery to name); no per-recipient data in Feedback-ID (Gmail
        # aggregates by it).
        mailto = (f",\r\n <mailto:{unsubscribe_address(rcpt.delivery_id)}?subject=unsubscribe>"
                  if rcpt.delivery_id > 0 else "")
        return [
            f"List-Id: <{slug}.{settings.MAIL_DOMAIN}>\r\n".encode(),
            f"List-Unsubscribe: <{url}>{mailto}\r\n".encode(),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" + CRLF,
            f"Feedback-ID: {self.feedback_campaign}:{slug}:newsletter:"
            f"{settings.FEEDBACK_SENDER_ID}\r\n".encode(),
        ]


def _splice(parts: Sequence[Part], values: Mapping[str, str], *, escape_html: bool,
            smtp: bool = False) -> list[bytes]:
    out: list[bytes] = []
    for part in parts:
        if isinstance(part, bytes):
            out.append(part)
            continue
        value = values.get(part.name) or part.default
        if escape_html:
            value = html.escape(value, quote=True)
        chunk = qp_encode_chunk(value)
        out.append(dot_stuff(chunk) if smtp else chunk)
    return out
