from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_missing_page_answers_404_with_the_site_layout(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
