"""Every staff URL, tried as anonymous, viewer, comms staff and admin.

The URL list is read from ``mailer.web.urls`` itself, so a new view without a
capability check fails ``test_it_guards_every_url`` instead of shipping open.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, reverse

from mailer.issues.models import Issue
from mailer.sending.planning import send_create
from mailer.web import urls as web_urls
from mailer.web.roles import Cap, Role, role_assign, role_of
from subscribers.models import MailingList
from tests.web.personas import make_user, signed_in

# Views anyone may open (sign-in, language) or any signed-in user (their own tokens).
PUBLIC = {"login", "logout", "set_language", "home"}
SIGNED_IN = {"tokens", "token-revoke"}
ROLE_CAPS = {
    "viewer": {Cap.VIEW_REPORTS},
    "comms": {Cap.VIEW_REPORTS, Cap.EDIT_ISSUES, Cap.SEND_ISSUES},
    "admin": set(Cap),
}


def _patterns() -> list[URLPattern]:
    return [p for p in web_urls.urlpatterns if isinstance(p, URLPattern)]


def _guarded() -> list[tuple[str, Cap]]:
    return [(p.name or "", p.callback.capability) for p in _patterns()  # type: ignore[attr-defined]
            if hasattr(p.callback, "capability")]


def _kwargs(name: str, ids: dict[str, int]) -> dict[str, Any]:
    pattern = next(p for p in _patterns() if p.name == name)
    if "<int:pk>" not in str(pattern.pattern):
        return {}
    if name.startswith(("send-", "token")) and not name.startswith("send-new"):
        return {"pk": ids["send"]}
    return {"pk": ids["issue"]}


def _method(name: str) -> str:
    posts = {"issue-render", "issue-copy", "issue-test-send", "send-discard", "send-approve", "send-pause",
             "send-resume", "send-cancel"}
    return "post" if name in posts else "get"


@pytest.fixture
def ids(issue: Issue, comms_user: User) -> dict[str, int]:
    mlist = MailingList.objects.create(slug="partners", name="Partners")
    send = send_create(issue, [mlist], created_by=comms_user)
    return {"issue": issue.pk, "send": send.pk}


def test_it_guards_every_url() -> None:
    names = {p.name for p in _patterns()}
    guarded = {name for name, _ in _guarded()}
    assert names - guarded - PUBLIC - SIGNED_IN == set()


def test_it_creates_the_three_roles_with_their_capabilities(db: None) -> None:
    for role in Role:
        user = make_user(f"u-{role.name.lower()}", role)
        held = {cap for cap in Cap if user.has_perm(cap.value)}
        assert held == set(ROLE_CAPS[{"Admin": "admin", "Comms staff": "comms",
                                      "Viewer": "viewer"}[role.value]])
        assert role_of(user) is role
        assert user.is_staff is (role is Role.ADMIN)


@pytest.mark.parametrize("name,cap", _guarded())
def test_it_sends_anonymous_users_to_the_login_page(client: Client, ids: dict[str, int],
                                                    name: str, cap: Cap) -> None:
    url = reverse(f"web:{name}", kwargs=_kwargs(name, ids))
    response = getattr(client, _method(name))(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("persona", ["viewer", "comms", "admin"])
@pytest.mark.parametrize("name,cap", _guarded())
def test_it_allows_each_url_only_to_roles_holding_its_capability(
        ids: dict[str, int], persona: str, name: str, cap: Cap) -> None:
    role = {"viewer": Role.VIEWER, "comms": Role.COMMS, "admin": Role.ADMIN}[persona]
    user = make_user(f"p-{persona}", role)
    client = signed_in(user)
    url = reverse(f"web:{name}", kwargs=_kwargs(name, ids))
    response = getattr(client, _method(name))(url)
    if cap in ROLE_CAPS[persona]:
        assert response.status_code != 403, response.content[:300]
        assert response.status_code < 500
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("persona", ["viewer", "comms"])
def test_it_keeps_non_admins_out_of_the_admin_site(ids: dict[str, int], persona: str) -> None:
    role = Role.VIEWER if persona == "viewer" else Role.COMMS
    client = signed_in(make_user(f"a-{persona}", role))
    for url in ["/admin/", "/admin/subscribers/subscriber/", "/admin/auth/user/"]:
        response = client.get(url)
        # The stock admin site answers non-staff with its own login page; a themed site
        # (WebAdminSite) answers 403. Either way the page itself is not shown.
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"]


def test_it_lets_the_admin_role_into_the_admin_site(admin_client: Client) -> None:
    assert admin_client.get("/admin/").status_code == 200
    assert admin_client.get("/admin/auth/user/").status_code == 200


def test_it_shows_a_user_without_role_a_clear_page(db: None) -> None:
    client = signed_in(make_user("nobody", None))
    response = client.get("/")
    assert response.status_code == 403
    assert b"no role" in response.content


def test_it_takes_admin_rights_away_on_demotion(admin_user: User) -> None:
    role_assign(admin_user, Role.VIEWER)
    admin_user = User.objects.get(pk=admin_user.pk)
    assert not admin_user.is_staff
    assert not admin_user.has_perm(Cap.MANAGE_AUDIENCE.value)


def test_it_answers_403_to_signed_in_non_admins_on_the_themed_admin_site(
        viewer_user: User, admin_user: User) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse
    from django.test import RequestFactory

    from mailer.web.admin_site import StaffAdminSite

    view = StaffAdminSite(name="t").admin_view(lambda request: HttpResponse("admin page"))
    request = RequestFactory().get("/admin/")
    request.user = viewer_user
    with pytest.raises(PermissionDenied):
        view(request)
    request.user = admin_user
    assert view(request).content == b"admin page"
    request.user = AnonymousUser()
    assert view(request).status_code == 302  # anonymous: the login page


def test_it_themes_the_admin_and_links_back_to_the_app(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert "Newsletter admin" in page
    assert reverse("web:issues") in page and "/admin/subscribers/subscriber/import/" in page


def test_it_creates_a_staff_user_with_a_role_from_the_command_line(
        db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setenv("STAFF_PASSWORD", "a long and unusual passphrase 7")
    out = StringIO()
    call_command("staff_user", "casey2", role="comms", email="c@example.org", stdout=out)
    user = User.objects.get(username="casey2")
    assert role_of(user) is Role.COMMS and not user.is_staff
    call_command("staff_user", "casey2", role="admin", stdout=out)
    user.refresh_from_db()
    assert role_of(user) is Role.ADMIN and user.is_staff


def test_it_refuses_a_weak_password_for_a_new_staff_user(
        db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("STAFF_PASSWORD", "password")
    with pytest.raises(CommandError, match="nobody was created"):
        call_command("staff_user", "weak", role="viewer")
    assert not User.objects.filter(username="weak").exists()
