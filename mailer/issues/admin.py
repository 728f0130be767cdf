"""Admin for issues and staff-uploaded layout templates (validated before saving)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext

from mailer.issues.models import Issue, IssueVariant, LayoutTemplate
from mailer.issues.services import layout_changed
from mailer.rendering.layouts import layout_validate


class LayoutTemplateForm(forms.ModelForm):
    class Meta:
        model = LayoutTemplate
        fields = ["name", "description", "source", "is_active"]
        widgets = {"source": forms.Textarea(attrs={"rows": 30, "cols": 100,
                                                   "spellcheck": "false"})}

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        source = cleaned.get("source")
        if source:
            name = cleaned.get("name") or "layout"
            problems = layout_validate(source, name=name)
            if problems:
                raise forms.ValidationError(
                    [f.message for f in problems]
                    + [gettext("The layout was not saved; fix the problems above and save again.")])
        return cleaned


@admin.register(LayoutTemplate)
class LayoutTemplateAdmin(admin.ModelAdmin):
    form = LayoutTemplateForm
    list_display = ["name", "description", "is_active", "updated_at"]
    list_filter = ["is_active"]

    def save_model(self, request: Any, obj: LayoutTemplate, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        layout_changed(obj)


class IssueVariantInline(admin.StackedInline):
    model = IssueVariant
    extra = 0
    fields = ["language", "subject", "preheader", "from_name", "source_markdown", "revision",
              "compiled_revision", "render_warnings"]
    readonly_fields = ["revision", "compiled_revision", "render_warnings"]


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["title", "number", "date", "default_language", "status", "archive_public"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [IssueVariantInline]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        # A changed source is a new revision: the cached compiled email is then stale.
        for variant_form in formset.forms:
            if variant_form.instance.pk and "source_markdown" in getattr(
                    variant_form, "changed_data", []):
                if _source_edited(variant_form):
                    variant_form.instance.revision += 1
                else:  # only how the browser sent it differs: keep the source as it was
                    variant_form.instance.source_markdown = variant_form.initial[
                        "source_markdown"]
        super().save_formset(request, form, formset, change)


def _source_edited(variant_form: Any) -> bool:
    """Whether the text was edited. A browser sends a textarea with CRLF line ends and the
    form strips its trailing newline, so saving an untouched issue (say, to tick "public in
    the archive") must not count as an edit that throws away the compiled email."""
    def same(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    before = variant_form.initial.get("source_markdown") or ""
    after = variant_form.cleaned_data.get("source_markdown") or ""
    return same(before) != same(after)
