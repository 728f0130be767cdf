from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailer.web.tokens import token_create
from tests.web.personas import *  # noqa: F403  (shared fixtures)


class ApiClient:
    """The test client with a bearer token on every request, JSON in and out."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api{path}", headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api{path}", body or {}, content_type="application/json",
                                headers=self.headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(f"/api{path}", body, content_type="application/json",
                                 headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api{path}", headers=self.headers)


@pytest.fixture
def admin_api(admin_user: User) -> ApiClient:
    return ApiClient(token_create(admin_user, name="test"))


@pytest.fixture
def comms_api(comms_user: User) -> ApiClient:
    return ApiClient(token_create(comms_user, name="test"))


@pytest.fixture
def viewer_api(viewer_user: User) -> ApiClient:
    return ApiClient(token_create(viewer_user, name="test"))
