"""An Admin saves an issue in the admin site: only an edited source is a new revision."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailer.issues.models import IssueVariant
from mailer.issues.services import issue_import, variant_compiled
from tests.html_forms import Forms

pytestmark = pytest.mark.django_db
ISSUE = ("---\ntitle: Admin test\npreheader: A preheader long enough for the inbox preview "
         "line.\n---\n\nFirst paragraph.\n\nSecond paragraph.\n")


def _save(client: Any, variant: IssueVariant, **changes: str) -> None:
    """Submit the issue's change page as a browser does (textareas with CRLF line ends)."""
    path = f"/admin/issues/issue/{variant.issue_id}/change/"
    page = client.get(path)
    assert page.status_code == 200
    fields = Forms(page.content.decode()).having("slug")
    fields = {name: value.replace("\r\n", "\n").replace("\n", "\r\n")
              for name, value in fields.items()} | changes
    done = client.post(path, fields)
    errors = re.findall(r"<ul class=\"errorlist[^\"]*\"[^>]*>.*?</ul>", done.content.decode(), re.S)
    assert done.status_code == 302, errors


def test_saving_an_untouched_issue_keeps_its_revision_and_compiled_email(admin_client):
    variant = issue_import(ISSUE, filename="admin-test.md").variant
    variant_compiled(variant)
    source = variant.source_markdown
    _save(admin_client, variant, archive_public="on")
    variant.refresh_from_db()
    assert variant.issue.archive_public
    assert (variant.revision, variant.compiled_revision) == (1, 1)
    assert variant.source_markdown == source


def test_editing_the_source_in_the_admin_is_a_new_revision(admin_client):
    variant = issue_import(ISSUE, filename="admin-test.md").variant
    variant_compiled(variant)
    _save(admin_client, variant, **{"variants-0-source_markdown": "Edited paragraph.\r\n"})
    variant.refresh_from_db()
    assert variant.revision == 2
    assert "Edited paragraph." in variant_compiled(variant).text.source
