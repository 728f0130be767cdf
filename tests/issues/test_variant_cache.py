"""A variant is compiled once per revision; editing the source invalidates the cache."""

from __future__ import annotations

import pytest

from mailer.issues.services import variant_compiled

pytestmark = pytest.mark.django_db


def test_it_caches_the_compiled_email_per_revision(seed_issue):
    variant = seed_issue.variants.get(language="en")
    first = variant_compiled(variant)
    variant.refresh_from_db()
    assert variant.compiled_revision == variant.revision
    assert variant.compiled_html == first.html.source


def test_a_new_revision_is_compiled_again(seed_issue):
    variant = seed_issue.variants.get(language="en")
    variant_compiled(variant)
    variant.source_markdown = variant.source_markdown.replace("RETURNING HOME", "COMING HOME")
    variant.revision += 1
    variant.save()
    assert "COMING HOME" in variant_compiled(variant).html.source
