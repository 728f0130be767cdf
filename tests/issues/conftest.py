from __future__ import annotations

from pathlib import Path

import pytest

from mailer.issues.models import Issue
from mailer.issues.services import issue_import

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "issues"


@pytest.fixture
def seed_issue(db) -> Issue:
    """The structured seed with its English and Russian variants."""
    en = issue_import((EXAMPLES / "iom-central-asia-03.md").read_text("utf-8"),
                      filename="iom-central-asia-03.md")
    issue_import((EXAMPLES / "iom-central-asia-03.ru.md").read_text("utf-8"),
                 filename="iom-central-asia-03.ru.md")
    return en.issue


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("editor", password="pw-editor-1", is_staff=True)


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("reader", password="pw-reader-1")
