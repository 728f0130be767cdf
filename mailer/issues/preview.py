"""Preview messages (.eml) of an issue variant, for staff and for the render_issue command.

Not the sending path (that one pre-encodes parts once per variant, see
``mailer.sending.mime``); this builds one message with the stdlib, plainly.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

from django.conf import settings

from mailer.rendering import CompiledEmail

# Python's SMTP policy writes 78-character QP lines (CPython issue 78206);
# RFC 2045 §6.7 allows 76.
PREVIEW_POLICY = SMTP.clone(max_line_length=76)


def preview_message(compiled: CompiledEmail, values: dict[str, str], *, from_name: str,
                    to: str = "preview@example.org") -> EmailMessage:
    """multipart/alternative, text/plain first and text/html last (RFC 2046 §5.1.4),
    UTF-8, quoted-printable; merge ``values`` filled in."""
    msg = EmailMessage(policy=PREVIEW_POLICY)
    display, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    username, _, domain = address.partition("@")
    msg["Subject"] = compiled.subject
    msg["From"] = Address(from_name or display, username, domain)
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAIN)
    msg.set_content(compiled.text.render(values, escape_html=False), subtype="plain",
                    charset="utf-8", cte="quoted-printable")
    msg.add_alternative(compiled.html.render(values, escape_html=True), subtype="html",
                        charset="utf-8", cte="quoted-printable")
    return msg
