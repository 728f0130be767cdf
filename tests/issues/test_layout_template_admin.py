"""An admin uploads a layout; the form validates it before it can be saved and used."""

from __future__ import annotations

import pytest

from mailer.issues.admin import LayoutTemplateForm
from mailer.issues.models import LayoutTemplate
from mailer.issues.services import issue_import, layout_changed, variant_compiled
from mailer.rendering import RenderError
from tests.issues.conftest import ROOT

pytestmark = pytest.mark.django_db
PLAIN = (ROOT / "examples" / "layouts" / "plain.mjml.j2").read_text("utf-8")
ISSUE = ("---\ntitle: Layout test\nlayout: plain\npreheader: A preheader long enough for "
         "the inbox preview line.\n---\n\nBody\n")


def _form(source: str) -> LayoutTemplateForm:
    return LayoutTemplateForm(data={"name": "plain", "source": source, "is_active": "on"})


def test_a_valid_layout_is_saved():
    form = _form(PLAIN)
    assert form.is_valid(), form.errors
    form.save()
    assert LayoutTemplate.objects.filter(name="plain").exists()


def test_a_malformed_layout_is_refused_with_the_position():
    form = _form(PLAIN.replace("</mj-body>", ""))
    assert not form.is_valid()
    message = " ".join(form.non_field_errors())
    assert "does not match <mj-body> opened at line 13, column 3" in message
    assert "was not saved" in message


def test_a_layout_with_unknown_tags_is_refused():
    form = _form(PLAIN.replace("<mj-column>", "<mj-colum>", 1).replace("</mj-column>",
                                                                        "</mj-colum>", 1))
    assert not form.is_valid()
    assert "<mj-colum>" in " ".join(form.non_field_errors())


def test_an_issue_naming_a_layout_is_compiled_with_it(client):
    _form(PLAIN).save()
    variant = issue_import(ISSUE, filename="layout-test.md").variant
    assert "Georgia" in variant_compiled(variant).html.source


def test_an_issue_naming_a_missing_layout_cannot_be_rendered():
    variant = issue_import(ISSUE, filename="layout-test.md").variant
    with pytest.raises(RenderError, match="'plain' is not an active layout"):
        variant_compiled(variant)


def test_changing_a_layout_recompiles_the_issues_that_use_it():
    layout = _form(PLAIN).save()
    variant = issue_import(ISSUE, filename="layout-test.md").variant
    variant_compiled(variant)
    layout.source = PLAIN.replace("Georgia, serif", "Verdana, sans-serif")
    layout.save()
    assert layout_changed(layout) == 1
    variant.refresh_from_db()
    assert "Verdana" in variant_compiled(variant).html.source


def test_a_layout_stored_without_the_form_is_still_checked_before_use():
    LayoutTemplate.objects.create(name="plain", source=PLAIN.replace(
        "<mj-column>", '<mj-raw><script>alert(1)</script></mj-raw><mj-column>', 1))
    variant = issue_import(ISSUE, filename="layout-test.md").variant
    with pytest.raises(RenderError, match=r"<script> .* is not an allowed tag"):
        variant_compiled(variant)


def test_the_editor_and_api_previews_use_the_issues_layout():
    """Issue 10 (low): previews compiled with the default layout, not the one the send uses."""
    from mailer.web.editor import preview_render

    _form(PLAIN).save()
    preview = preview_render(ISSUE, language="en")
    assert preview.ok and "Georgia" in preview.html


def test_a_preview_of_an_issue_naming_a_missing_layout_says_so():
    from mailer.web.editor import preview_render

    preview = preview_render(ISSUE, language="en")
    assert not preview.ok and "'plain' is not an active layout" in preview.findings[0].message
