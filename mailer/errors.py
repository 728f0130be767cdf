"""The project's exception tree.

``MailerError`` is the base of every error this project raises on purpose, so a
caller that must not let one escape (a task, a command) can catch them all without
catching programming errors. Configuration errors are also ``ImproperlyConfigured``,
Django's own class for "the deployment is wrong", so Django and Celery report them
as such.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class MailerError(Exception):
    """Base of the project's own errors."""


class MailerConfigError(MailerError, ImproperlyConfigured):
    """A setting is missing or malformed; the message names it and what to set."""


class SendFault(MailerError):
    """A failure about a send, not about one recipient: the route, the DKIM key, the
    layout, Redis. Never recorded against recipients; the send is paused with
    ``reason`` (what happened and how to fix it). ``transient`` faults (Redis away)
    have already been waited out for a while before this is raised."""

    def __init__(self, reason: str, *, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
