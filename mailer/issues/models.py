"""Issues and their language variants, with the compiled email cached per revision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Issue(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        READY = "ready", _("Ready")
        ARCHIVED = "archived", _("Archived")

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    date = models.DateField(_("date"), null=True, blank=True)
    default_language = models.CharField(_("default language"), max_length=8, default="en")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT)
    archive_public = models.BooleanField(
        _("public in the archive"), default=False,
        help_text=_("Show this issue in the public archive once sent, even if it went only "
                    "to private lists. Issues sent to a public list are shown anyway."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("issue")
        verbose_name_plural = _("issues")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.title


class IssueVariant(models.Model):
    """One language of an issue. ``revision`` grows with every edit of the source;
    the compiled HTML/text are valid only while ``compiled_revision == revision``."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="variants",
                              verbose_name=_("issue"))
    language = models.CharField(_("language"), max_length=8)
    source_markdown = models.TextField(_("source markdown"))
    subject = models.CharField(_("subject"), max_length=300)
    preheader = models.CharField(_("preheader"), max_length=300, blank=True)
    from_name = models.CharField(_("from name"), max_length=200, blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    compiled_revision = models.PositiveIntegerField(_("compiled revision"), default=0)
    compiled_html = models.TextField(_("compiled HTML"), blank=True)
    compiled_text = models.TextField(_("compiled text"), blank=True)
    # The brand's reply-to when the cache was compiled: part of the chrome, frozen with it.
    compiled_reply_to = models.CharField(_("compiled reply-to"), max_length=254, blank=True)
    compiled_at = models.DateTimeField(_("compiled at"), null=True, blank=True)
    render_warnings = models.JSONField(_("render warnings"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("issue variant")
        verbose_name_plural = _("issue variants")
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

    name = models.SlugField(pgettext_lazy("title of a thing", "name"), max_length=100, unique=True,
                            help_text=_("Issues use it with 'layout: NAME' in their front matter."))
    description = models.CharField(_("description"), max_length=300, blank=True)
    source = models.TextField(pgettext_lazy("source code", "source"),
                              help_text=_("MJML with Jinja2 slots; see docs/issue-format.md."))
    is_active = models.BooleanField(_("is active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("layout template")
        verbose_name_plural = _("layout templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
