"""Property-based API test: generated requests against every operation of the OpenAPI
schema, as an Admin (who may call everything), never get a server error."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mailer.web.tokens import token_create

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


def test_it_publishes_a_valid_openapi_schema() -> None:
    operations = list(schema.get_all_operations())
    assert operations and all(op.ok() for op in operations)


@pytest.fixture
def admin_token(admin_user: User, issue: Any, audience: Any) -> Any:
    # Requests go through the WSGI handler, which would close the test's database
    # connection at the end of each request (Django's test Client avoids this too).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield token_create(admin_user, name="property test")
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=int(os.environ.get("API_PROPERTY_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_it_answers_generated_requests_without_server_errors(case: Any, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           checks=[not_a_server_error])
