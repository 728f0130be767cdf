"""Content Security Policy: the staff app runs only its own, nonce-carrying scripts; email
served as a page (archive, preview frame) runs none at all (issue 10, item 4)."""

from __future__ import annotations

import re
from pathlib import Path

from django.test import Client

from mailer.web.csp import EMAIL_POLICY
from tests.web.personas import *  # noqa: F403  (shared fixtures)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates" / "web", ROOT / "subscribers" / "templates",
                 ROOT / "mailer"]


def test_staff_pages_carry_a_nonce_policy_that_matches_their_scripts(comms_client, issue):
    response = comms_client.get(f"/issues/{issue.pk}/edit/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "'unsafe-inline'" not in policy.split(
        "script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy
    scripts = re.findall(r"<script\b([^>]*)>", response.content.decode())
    assert scripts and all(f'nonce="{nonce}"' in attrs or "src=" in attrs for attrs in scripts)


def test_each_response_gets_a_fresh_nonce(comms_client):
    first = comms_client.get("/issues/")["Content-Security-Policy"]
    second = comms_client.get("/issues/")["Content-Security-Policy"]
    assert first != second


def test_admin_login_and_public_pages_have_the_staff_policy(db):
    for path in ("/admin/login/", "/login/", "/archive/"):
        assert "script-src 'self' 'nonce-" in Client().get(path)["Content-Security-Policy"]


def test_the_web_version_and_the_preview_frame_are_sandboxed_without_scripts(
        admin_client, issue):
    frame = admin_client.get(f"/issues/{issue.pk}/preview/en/frame/")
    web = admin_client.get(f"/archive/{issue.slug}/en/email/")
    for response in (frame, web):
        assert response.status_code == 200
        policy = response["Content-Security-Policy"]
        assert policy == EMAIL_POLICY
        assert policy.startswith("sandbox ") and "allow-scripts" not in policy
        assert "allow-same-origin" not in policy and "default-src 'none'" in policy


def test_the_issue_page_frames_the_email_only_from_its_sandboxed_url(admin_client, issue):
    """The web version's page is ours (staff policy); the email in it never is."""
    page = admin_client.get(f"/archive/{issue.slug}/en/")
    assert "script-src 'self' 'nonce-" in page["Content-Security-Policy"]
    html = page.content.decode()
    frames = re.findall(r"<iframe\b[^>]*>", html)
    assert len(frames) == 1
    assert f'src="/archive/{issue.slug}/en/email/"' in frames[0]
    sandbox = re.search(r'sandbox="([^"]*)"', frames[0]).group(1)
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "NGO partners" not in html  # the email's text is only in the framed document


def test_no_template_uses_inline_event_handlers_or_unnonced_inline_scripts():
    offenders = []
    for base in TEMPLATE_DIRS:
        for path in base.rglob("*.html"):
            text = path.read_text("utf-8")
            if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
                offenders.append(f"{path.name}: inline event handler")
            for attrs in re.findall(r"<script\b([^>]*)>", text):
                if "src=" not in attrs and "nonce=" not in attrs \
                        and "application/json" not in attrs:
                    offenders.append(f"{path.name}: <script> without a nonce")
    assert offenders == []
