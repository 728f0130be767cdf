"""CSRF is enforced on every form of the staff app (the one-click unsubscribe endpoint,
owned by the audience app, is the only exemption in the project)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from mailer.sending.planning import send_create
from subscribers.models import MailingList

POST_VIEWS = ["logout", "tokens", "issue-new", "issue-edit", "issue-render", "issue-test-send",
              "media", "send-new", "send-confirm", "send-discard", "send-approve", "send-pause",
              "send-resume", "send-cancel", "import", "set_language", "token-revoke"]


@pytest.mark.parametrize("name", POST_VIEWS)
def test_it_refuses_a_post_without_a_csrf_token(admin_user: User, issue: Issue, name: str) -> None:
    send = send_create(issue, [MailingList.objects.create(slug="l", name="L")])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    kwargs = {}
    if name in ("issue-edit", "issue-render", "issue-test-send", "send-new"):
        kwargs = {"pk": issue.pk}
    elif name.startswith(("send-", "token-")):
        kwargs = {"pk": send.pk}
    response = client.post(reverse(f"web:{name}", kwargs=kwargs), {"x": "1"})
    assert response.status_code == 403


def test_it_accepts_a_post_with_the_token_from_the_form(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(reverse("web:tokens"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("web:tokens"), {"name": "ci", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert b"nlt_" in response.content
