"""Reading bounces (RFC 3464 DSNs) and complaints (RFC 5965 ARF) into one vocabulary.

Standard reports are read with the stdlib ``email`` package; anything else is
handed to ``flufl.bounce``, whose detectors know the odd formats of many MTAs.
Parsing decides *what* a report says; ``mailer.bounces.processing`` decides
whether we believe it (only reports that carry our signed VERP address or our
signed Message-ID change anything).
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from email.utils import getaddresses

from flufl.bounce import all_failures

INLINE_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.I | re.M)
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Failure:
    address: str
    kind: str  # "hard" | "soft" | "complaint"
    status: str = ""
    diagnostic: str = ""


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    original_message_id: str = ""
    original_return_path: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.failures


def report_parse(raw: bytes) -> Report:
    msg = email.message_from_bytes(raw, policy=default_policy)
    report_type = (msg.get_param("report-type", header="content-type") or "")
    report_type = str(report_type).lower()
    if msg.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return _arf(msg)
    if msg.get_content_type() == "multipart/report" and report_type == "delivery-status":
        return _dsn(msg)
    return _heuristic(raw, msg)


def _original_headers(msg: Message) -> tuple[str, str]:
    """Message-ID and Return-Path of the returned original (message/rfc822 or text/rfc822-headers)."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return str(inner.get("Message-ID", "")).strip(), str(inner.get("Return-Path", "")).strip()
        if ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            inner = email.message_from_bytes(text if isinstance(text, bytes) else b"",
                                             policy=default_policy)
            return str(inner.get("Message-ID", "")).strip(), str(inner.get("Return-Path", "")).strip()
    return "", ""


def _address(value: str) -> str:
    """``rfc822; user@example.org`` -> ``user@example.org`` (RFC 3464 §2.3.2)."""
    _, _, addr = value.rpartition(";")
    return addr.strip().strip("<>")


def _dsn(msg: EmailMessage) -> Report:
    report = Report()
    report.original_message_id, report.original_return_path = _original_headers(msg)
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        # The first block holds per-message fields; the rest are one per recipient.
        for block in blocks[1:]:
            if not isinstance(block, Message):
                continue
            failure = _dsn_recipient(block)
            if failure is not None:
                report.failures.append(failure)
    return report


def _dsn_recipient(block: Message) -> Failure | None:
    action = str(block.get("Action", "")).strip().lower()
    recipient = _address(str(block.get("Final-Recipient") or block.get("Original-Recipient") or ""))
    status_match = STATUS.search(str(block.get("Status", "")))
    status = ".".join(status_match.groups()) if status_match else ""
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    if not recipient or action in {"delivered", "relayed", "expanded"}:
        return None
    if action == "failed" and status.startswith("5"):
        kind = "hard"
    elif action in {"failed", "delayed"}:
        kind = "soft"  # 4.x.x, or a failure without a permanent status: count, don't suppress yet
    else:
        return None
    return Failure(recipient.lower(), kind, status, diagnostic[:1000])


def _arf(msg: EmailMessage) -> Report:
    report = Report()
    report.original_message_id, report.original_return_path = _original_headers(msg)
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _feedback_fields(part)
        if fields.get("feedback-type", "abuse").lower() not in {"abuse", "fraud", "other"}:
            continue
        address = fields.get("original-rcpt-to", "")
        report.failures.append(Failure(_address(address).lower(), "complaint",
                                       "", fields.get("feedback-type", "abuse")))
    return report


def _feedback_fields(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return {k.lower(): str(v).strip() for k, v in payload[0].items()}
    decoded = part.get_payload(decode=True)
    text = payload if isinstance(payload, str) else (
        decoded.decode("utf-8", "replace") if isinstance(decoded, bytes) else "")
    return {k.lower(): v.strip() for k, _, v in
            (line.partition(":") for line in text.splitlines()) if v}


def _heuristic(raw: bytes, msg: EmailMessage) -> Report:
    try:
        if not any(addr for _name, addr in getaddresses([str(msg.get("From", ""))])):
            raise IndexError("no sender")  # every MTA's report has one; skip the detectors
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except (IndexError, KeyError, AttributeError, TypeError, ValueError):
        # flufl.bounce's detectors assume a well-formed bounce (its Yale detector indexes
        # the From address: a message without one raised IndexError and the server
        # answered 500). A message they cannot read is simply not a bounce we recognise.
        temporary = permanent = frozenset()
    report = Report()
    report.original_message_id, report.original_return_path = _original_headers(msg)
    if not report.original_message_id:
        # Plain-text bounces (Exim, qmail) quote the original inline, not as a MIME part.
        body = raw.split(b"\r\n\r\n", 1)[-1].decode("utf-8", "replace")
        quoted = INLINE_MESSAGE_ID.search(body)
        report.original_message_id = quoted.group(1) if quoted else ""
    for addr in sorted(permanent):
        report.failures.append(Failure(_decode(addr).lower(), "hard"))
    for addr in sorted(temporary - permanent):
        report.failures.append(Failure(_decode(addr).lower(), "soft"))
    return report


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
