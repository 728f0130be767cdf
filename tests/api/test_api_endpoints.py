"""The REST API: token auth, the staff app's permission rules, and each resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailer.issues.models import Issue
from mailer.sending.models import Route, Send
from mailer.web.models import ApiToken
from mailer.web.tokens import token_create, token_revoke
from subscribers.models import MailingList, Segment, Subscriber, Suppression
from tests.api.conftest import ApiClient


def test_it_refuses_requests_without_a_token(db: None) -> None:
    assert Client().get("/api/issues").status_code == 401


def test_it_refuses_a_revoked_token(comms_user: User) -> None:
    secret = token_create(comms_user, name="old")
    token_revoke(comms_user, ApiToken.objects.get().pk)
    assert ApiClient(secret).get("/issues").status_code == 401


def test_it_stores_only_a_digest_of_the_token(comms_user: User) -> None:
    secret = token_create(comms_user, name="ci")
    assert secret not in str(list(ApiToken.objects.values()))


@pytest.mark.parametrize("persona", ["viewer", "comms"])
def test_it_forbids_subscriber_endpoints_to_non_admins(
        persona: str, viewer_api: ApiClient, comms_api: ApiClient,
        audience: dict[str, Subscriber]) -> None:
    api = viewer_api if persona == "viewer" else comms_api
    pk = audience["ana"].pk
    assert api.post("/subscribers", {"email": "new@example.org"}).status_code == 403
    assert api.get(f"/subscribers/{pk}").status_code == 403
    assert api.patch(f"/subscribers/{pk}", {"name": "X"}).status_code == 403
    assert api.delete(f"/subscribers/{pk}").status_code == 403
    assert Subscriber.objects.filter(pk=pk).exists()


def test_it_forbids_sending_to_viewers(viewer_api: ApiClient, issue: Issue,
                                       lists: dict[str, MailingList]) -> None:
    response = viewer_api.post("/sends", {"issue_id": issue.pk, "lists": ["news"]})
    assert response.status_code == 403
    assert not Send.objects.exists()


def test_it_creates_a_subscriber_on_lists(admin_api: ApiClient,
                                          lists: dict[str, MailingList]) -> None:
    response = admin_api.post("/subscribers", {"email": "Aida@NGO.KZ", "name": "Aida",
                                               "country": "kz", "lists": ["news"]})
    assert response.status_code == 201
    data = response.json()
    assert (data["email"], data["country"]) == ("Aida@ngo.kz", "KZ")
    assert data["subscriptions"] == [{"list": "news", "status": "confirmed"}]


def test_it_refuses_a_duplicate_subscriber(admin_api: ApiClient,
                                           audience: dict[str, Subscriber]) -> None:
    assert admin_api.post("/subscribers", {"email": "ana@ngo.kz"}).status_code == 409


def test_it_refuses_an_invalid_address(admin_api: ApiClient) -> None:
    response = admin_api.post("/subscribers", {"email": "not an address"})
    assert response.status_code == 422
    assert "not a valid address" in response.json()["detail"]


def test_it_updates_gets_subscribes_and_erases_a_subscriber(
        admin_api: ApiClient, audience: dict[str, Subscriber],
        lists: dict[str, MailingList]) -> None:
    pk = audience["bek"].pk
    assert admin_api.patch(f"/subscribers/{pk}", {"name": "Bek B."}).json()["name"] == "Bek B."
    data = admin_api.post(f"/subscribers/{pk}/subscriptions",
                          {"list": "partners", "status": "unsubscribed"}).json()
    assert data["subscriptions"] == [{"list": "partners", "status": "unsubscribed"}]
    assert admin_api.get(f"/subscribers/{pk}").json()["email"] == "bek@ngo.kg"
    assert admin_api.delete(f"/subscribers/{pk}").status_code == 204
    assert not Subscriber.objects.filter(pk=pk).exists()
    assert Suppression.objects.filter(reason="erased").exists()


def test_it_lists_lists_with_confirmed_counts(comms_api: ApiClient,
                                              audience: dict[str, Subscriber]) -> None:
    counts = {row["slug"]: row["confirmed"] for row in comms_api.get("/lists").json()}
    assert counts == {"news": 3, "partners": 2, "staff": 1}


def test_it_counts_a_segment(comms_api: ApiClient, audience: dict[str, Subscriber]) -> None:
    Segment.objects.create(slug="ru", name="Russian", rule="language = ru")
    assert comms_api.get("/segments/ru/count").json() == {"slug": "ru", "count": 1}


def test_it_creates_an_issue_from_markdown_and_previews_it(comms_api: ApiClient,
                                                           seed_source: str) -> None:
    response = comms_api.post("/issues", {"markdown": seed_source, "slug": "issue-3"})
    assert response.status_code == 201
    issue_id = response.json()["id"]
    preview = comms_api.post(f"/issues/{issue_id}/preview", {}).json()
    assert preview["ok"] is True and "DIRECT ASSISTANCE" in preview["html"]
    unsaved = comms_api.post(f"/issues/{issue_id}/preview", {"markdown": "## Draft\n\nText.\n"})
    assert "Draft" in unsaved.json()["text"]


def test_it_refuses_an_issue_with_template_code(comms_api: ApiClient) -> None:
    response = comms_api.post("/issues", {"markdown": "Hi {% if x %}x{% endif %}\n"})
    assert response.status_code == 422
    assert not Issue.objects.exists()


def test_it_runs_a_send_through_its_life(comms_api: ApiClient, issue: Issue,
                                         audience: dict[str, Subscriber]) -> None:
    draft = comms_api.post("/sends", {"issue_id": issue.pk, "lists": ["partners", "news"]}).json()
    assert (draft["status"], draft["recipients"]) == ("draft", 3)
    wrong = comms_api.post(f"/sends/{draft['id']}/start", {"confirm_count": 5})
    assert wrong.status_code == 409 and "nothing was sent" in wrong.json()["detail"]
    started = comms_api.post(f"/sends/{draft['id']}/start", {"confirm_count": 3}).json()
    assert (started["status"], started["recipients"]) == ("sending", 3)
    assert comms_api.post(f"/sends/{draft['id']}/pause").json()["status"] == "paused"
    assert comms_api.post(f"/sends/{draft['id']}/resume").json()["status"] == "sending"
    assert comms_api.post(f"/sends/{draft['id']}/cancel").json()["status"] == "cancelled"
    assert comms_api.post(f"/sends/{draft['id']}/resume").status_code == 409
    status = comms_api.get(f"/sends/{draft['id']}").json()
    assert status["progress"]["planned"] == 3


def test_it_holds_a_large_api_send_for_approval(comms_api: ApiClient, issue: Issue,
                                                audience: dict[str, Subscriber],
                                                settings: object) -> None:
    settings.SEND_APPROVAL_THRESHOLD = 2  # type: ignore[attr-defined]
    draft = comms_api.post("/sends", {"issue_id": issue.pk, "lists": ["partners", "news"]}).json()
    result = comms_api.post(f"/sends/{draft['id']}/start", {"confirm_count": 3}).json()
    assert (result["status"], result["awaiting_approval"]) == ("draft", True)


def test_it_names_an_unknown_list(comms_api: ApiClient, issue: Issue) -> None:
    response = comms_api.post("/sends", {"issue_id": issue.pk, "lists": ["nope"]})
    assert response.status_code == 422 and "nope" in response.json()["detail"]


def test_it_creates_a_send_through_a_named_smtp_route(comms_api: ApiClient, issue: Issue,
                                                      audience: dict[str, Subscriber]) -> None:
    Route.objects.create(name="bulk", url="smtp://127.0.0.1:2525")
    draft = comms_api.post("/sends", {"issue_id": issue.pk, "lists": ["news"], "route": "bulk"})
    assert draft.status_code == 201, draft.json()
    assert draft.json()["route"] == "bulk"
    assert Send.objects.get(pk=draft.json()["id"]).smtp_route.name == "bulk"  # type: ignore[union-attr]


def test_it_refuses_an_unknown_smtp_route_and_creates_nothing(
        comms_api: ApiClient, issue: Issue, audience: dict[str, Subscriber]) -> None:
    response = comms_api.post("/sends", {"issue_id": issue.pk, "lists": ["news"], "route": "nope"})
    assert response.status_code == 422 and "nope" in response.json()["detail"]
    assert not Send.objects.exists()


def test_it_serves_the_openapi_docs(db: None) -> None:
    assert Client().get("/api/docs").status_code == 200
    schema = Client().get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/sends/{send_id}/start" in schema["paths"]


def test_it_refuses_to_start_a_send_that_fails_preflight_and_says_why(
        comms_api: ApiClient, issue: Issue, audience: dict[str, Subscriber],
        settings: object, tmp_path: Path) -> None:
    from mailer.signing.dkim_sign import dkim_key

    bad = tmp_path / "dkim.pem"
    bad.write_text("not a key\n")
    settings.DKIM_PRIVATE_KEY_PATH = str(bad)  # type: ignore[attr-defined]
    dkim_key.cache_clear()
    try:
        draft = comms_api.post("/sends", {"issue_id": issue.pk,
                                          "lists": ["partners", "news"]}).json()
        refused = comms_api.post(f"/sends/{draft['id']}/start", {"confirm_count": 3})
        assert refused.status_code == 422
        assert "is not a PEM private key" in refused.json()["detail"]
        after = comms_api.get(f"/sends/{draft['id']}").json()
        assert after["status"] == "draft" and after["status_reason"].startswith("not started:")
    finally:
        dkim_key.cache_clear()
