"""The staff web app: sign-in, roles, issues with live preview, the send wizard, live
progress, reports, and the media library. Views are thin: they check a capability
(``access.capability_required``) and call the issue, audience and sending modules.

Settings read here (all optional): WEB_IMPORT_MAX_BYTES, LOGIN_FAILURE_LIMIT,
LOGIN_FAILURE_LIMIT_PER_IP, LOGIN_LOCKOUT_SECONDS, SESSION_IDLE_SECONDS.
"""
