"""One SMTP connection, reused for a whole batch, and the classification of its failures.

Every failure becomes a ``DeliveryError`` that says whether retrying can help
(``permanent``), whether it is about this recipient (``recipient``) and whether
the connection is gone (``connection_lost``). The caller decides what to record;
nothing here retries.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from mailer.env import SmtpRoute
from mailer.errors import MailerError
from mailer.sending.mime import LEADING_DOT
from subscribers.services import TEMPLATE_LIKE


class DeliveryError(MailerError):
    """A message was not accepted.

    ``permanent``: 5xx, retrying the same message will not help.
    ``recipient``: the reply is about this recipient (RCPT stage), so a permanent
    error is a hard bounce; otherwise it concerns the message or our side.
    ``connection_lost``: the session must be reopened before the next message.
    ``maybe_delivered``: the connection died after the whole message was on the wire
    and before the server's answer, so the server may have accepted it.
    """

    def __init__(self, message: str, *, permanent: bool, code: int | None = None,
                 reply: str = "", recipient: bool = False, connection_lost: bool = False,
                 maybe_delivered: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.reply = reply
        self.recipient = recipient
        self.connection_lost = connection_lost
        self.maybe_delivered = maybe_delivered


class ConnectError(DeliveryError):
    """The server could not be reached or refused the session (EHLO/TLS/AUTH)."""


@dataclass(frozen=True)
class Accepted:
    code: int
    reply: str


def _text(resp: bytes | str) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)


class SmtpSession:
    """A lazily opened connection to ``route``. ``deliver`` opens it on first use and
    after a lost connection; call ``close`` when the batch ends."""

    def __init__(self, route: SmtpRoute, *, local_hostname: str | None = None):
        self.route = route
        self.local_hostname = local_hostname
        self.conn: smtplib.SMTP | None = None
        self.opened = 0  # connections opened, for reports and tests

    def _open(self) -> smtplib.SMTP:
        conn = self._reach()
        r = self.route
        try:
            if r.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if r.username:
                conn.login(r.username, r.password)
        except smtplib.SMTPResponseException as exc:
            conn.close()
            raise ConnectError(f"{r.label} refused the session: {exc.smtp_code}",
                               permanent=False, code=exc.smtp_code,
                               reply=self._masked(_text(exc.smtp_error)),
                               connection_lost=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            conn.close()
            raise ConnectError(f"{r.label}: TLS or login failed: {self._masked(str(exc))}",
                               permanent=False, reply=self._masked(str(exc)),
                               connection_lost=True) from None
        self.opened += 1
        return conn

    def _reach(self) -> smtplib.SMTP:
        """Connect and EHLO. Every failure up to a valid EHLO reads the same "unreachable":
        a route points wherever an Admin typed, so its recorded errors must not tell a
        closed port from an open one that speaks another protocol (issue 10: routes used
        to probe internal ports)."""
        r = self.route
        try:
            if r.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    r.host, r.port, local_hostname=self.local_hostname, timeout=r.timeout,
                    context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(r.host, r.port, local_hostname=self.local_hostname,
                                    timeout=r.timeout)
            code, _reply = conn.ehlo()
            if code != 250:
                conn.close()
                raise smtplib.SMTPException("no EHLO")
        except (OSError, smtplib.SMTPException):
            raise ConnectError(f"{r.label} is unreachable (no SMTP session could be opened; "
                               "check the host, port and TLS setting)",
                               permanent=False, reply="unreachable",
                               connection_lost=True) from None
        return conn

    def _masked(self, text: str) -> str:
        password = self.route.password
        return text.replace(password, "***") if password else text

    def deliver(self, envelope_from: str, recipient: str, data: bytes, *,
                stuffed: bool = False) -> Accepted:
        """Send one message (CRLF line ends). ``stuffed=True`` says ``data`` is already
        dot-stuffed (``MessageTemplate.build(smtp=True)``), sparing a scan of the whole
        message. Returns the final 2xx reply; raises ``DeliveryError``. Uses PIPELINING
        (RFC 2920) when offered: MAIL, RCPT and DATA go out in one write."""
        wire = data if stuffed else LEADING_DOT.sub(b"..", data)
        if not wire.endswith(b"\r\n"):
            wire += b"\r\n"
        if self.conn is None:
            self.conn = self._open()
        conn = self.conn
        if "\r" in recipient or "\n" in recipient or "\n" in envelope_from:
            raise DeliveryError(f"refusing an address with a line break: {recipient!r}",
                                permanent=True, recipient=True)
        if TEMPLATE_LIKE.search(recipient.rpartition("@")[0]):
            # Saved before the audience refused such addresses (issue 10): never sent.
            raise DeliveryError(f"refusing an address with template syntax: {recipient!r}",
                                permanent=True, recipient=True)
        body_sent = False
        try:
            if conn.has_extn("pipelining"):
                conn.send(f"MAIL FROM:<{envelope_from}>\r\nRCPT TO:<{recipient}>\r\n"
                          "DATA\r\n".encode("ascii"))
                (mail_code, mail_resp), (rcpt_code, rcpt_resp), (data_code, data_resp) = (
                    conn.getreply(), conn.getreply(), conn.getreply())
            else:
                mail_code, mail_resp = conn.mail(envelope_from)
                rcpt_code, rcpt_resp = conn.rcpt(recipient) if mail_code == 250 else (0, b"")
                data_code, data_resp = (conn.docmd("DATA") if rcpt_code in (250, 251)
                                        else (0, b""))
            if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
                conn.send(b".\r\n")  # a server that opened DATA anyway: send nothing
                conn.getreply()
            if mail_code != 250:
                self._reject(mail_code, mail_resp, stage="MAIL FROM", recipient_stage=False)
            if rcpt_code not in (250, 251):
                self._reject(rcpt_code, rcpt_resp, stage="RCPT TO", recipient_stage=True)
            if data_code != 354:
                self._reject(data_code, data_resp, stage="DATA", recipient_stage=False)
            conn.send(wire + b".\r\n")
            body_sent = True
            code, resp = conn.getreply()
            if code != 250:
                self._reject(code, resp, stage="end of DATA", recipient_stage=False)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:  # incl. timeouts
            self.close(quit=False)
            raise DeliveryError(f"connection to {self.route.label} lost: {exc}", permanent=False,
                                reply=str(exc) or type(exc).__name__,
                                connection_lost=True, maybe_delivered=body_sent) from None
        return Accepted(code, _text(resp))

    def _reject(self, code: int, resp: bytes | str, *, stage: str, recipient_stage: bool) -> None:
        reply = _text(resp)
        lost = code == 421  # RFC 5321 §3.8: the server is closing the channel
        if lost:
            self.close(quit=False)
        else:
            try:
                assert self.conn is not None
                self.conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close(quit=False)
                lost = True
        raise DeliveryError(f"{stage} answered {code} {reply}", permanent=500 <= code < 600,
                            code=code, reply=reply, recipient=recipient_stage,
                            connection_lost=lost)

    def close(self, *, quit: bool = True) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            if quit:
                conn.quit()
            else:
                conn.close()
        except (smtplib.SMTPException, OSError):
            conn.close()
