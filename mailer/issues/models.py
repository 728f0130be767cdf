"""Issues and their language variants, with the compiled email cached per revision."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Issue(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"
        ARCHIVED = "archived", "Archived"

    slug = models.SlugField(max_length=100, unique=True)
    number = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=300)
    date = models.DateField(null=True, blank=True)
    default_language = models.CharField(max_length=8, default="en")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.title


class IssueVariant(models.Model):
    """One language of an issue. ``revision`` grows with every edit of the source;
    the compiled HTML/text are valid only while ``compiled_revision == revision``."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="variants")
    language = models.CharField(max_length=8)
    source_markdown = models.TextField()
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    revision = models.PositiveIntegerField(default=1)
    compiled_revision = models.PositiveIntegerField(default=0)
    compiled_html = models.TextField(blank=True)
    compiled_text = models.TextField(blank=True)
    compiled_at = models.DateTimeField(null=True, blank=True)
    render_warnings = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "language"], name="one_variant_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.issue} [{self.language}]"


class LayoutTemplate(models.Model):
    """A staff-uploaded email layout (MJML + Jinja2). It is validated in the admin form
    (``mailer.rendering.layouts.layout_validate``) before it can be saved, and again each
    time an issue is compiled with it; issues pick it with ``layout: <name>`` in front
    matter."""

    name = models.SlugField(max_length=100, unique=True,
                            help_text="Issues use it with 'layout: NAME' in their front matter.")
    description = models.CharField(max_length=300, blank=True)
    source = models.TextField(help_text="MJML with Jinja2 slots; see docs/issue-format.md.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
