"""Admin-only audience pages of the app: CSV import with its row errors.

Lists, subscribers, segments and suppressions are managed in the admin site.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from mailer.web.access import capability_required
from mailer.web.forms import CsvImportForm, CsvImportKeptForm, import_too_big_message
from mailer.web.roles import Cap
from mailer.web.uploads import KeptUpload, UploadGone, upload_discard, upload_find, upload_keep
from subscribers.importer import ImportReport, Unreadable, import_csv
from subscribers.models import MailingList
from subscribers.services import text_clean


@capability_required(Cap.MANAGE_AUDIENCE)
def subscribers_import(request: HttpRequest) -> HttpResponse:
    """A web request imports at most ``WEB_IMPORT_MAX_BYTES``: a 60 MB file took minutes,
    holding a web worker all that time (issue 10). Larger files are refused before the
    upload is parsed, with the command that imports them. A Celery task was the other
    choice; it would need storage shared by web and workers and a page to poll, while the
    command already streams any size and reports each bad row.

    A check-only run keeps the file on the server (``mailer.web.uploads``) and offers
    "Import these rows", which imports exactly the file that was checked."""
    if request.method == "POST" and _upload_too_big(request):
        messages.error(request, import_too_big_message())
        return render(request, "app/import.html", {"form": CsvImportForm(), "report": None},
                      status=413)
    if request.method == "POST" and "upload" in request.POST:
        return _import_kept(request)
    form = CsvImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "report": None}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kept = upload_keep(data["csv_file"], user_id=_user_id(request))
        try:
            context.update(_import_run(request, kept, data["mailing_list"], data["encoding"],
                                       dry_run=data["dry_run"]))
        except Unreadable as exc:
            form.add_error("csv_file", _unreadable_message(exc))
    return render(request, "app/import.html", context)


def _import_kept(request: HttpRequest) -> HttpResponse:
    form = CsvImportKeptForm(request.POST)
    context: dict[str, Any] = {"form": CsvImportForm(), "report": None}
    try:
        if not form.is_valid():
            raise UploadGone(_("the form was incomplete"))
        kept = upload_find(form.cleaned_data["upload"], user_id=_user_id(request))
    except UploadGone as exc:
        messages.error(request, _("The checked file cannot be imported: %(why)s. Nothing was "
                                  "imported; upload the file again.") % {"why": exc})
        return render(request, "app/import.html", context, status=400)
    try:
        context.update(_import_run(request, kept, form.cleaned_data["mailing_list"],
                                   form.cleaned_data["encoding"], dry_run=False))
    except Unreadable as exc:
        messages.error(request, _unreadable_message(exc))
    return render(request, "app/import.html", context)


def _import_run(request: HttpRequest, kept: KeptUpload, mailing_list: MailingList,
                encoding: str, *, dry_run: bool) -> dict[str, Any]:
    """Import (or check) ``kept``; the page's context. The file is deleted unless this was
    a check, and also when it cannot be read at all (then ``Unreadable`` is raised).
    ``import_csv`` writes in one transaction, so an error leaves nothing half-written."""
    try:
        with kept.path.open("rb") as stream:
            report = import_csv(stream, mailing_list, encoding=encoding or None,
                                dry_run=dry_run, actor=f"user:{request.user.get_username()}",
                                source=f"web import of {kept.name}")
    except BaseException:
        upload_discard(kept)
        raise
    if not dry_run:
        upload_discard(kept)
    context: dict[str, Any] = {"report": report, **_detected(report), "file_name": kept.name,
                               "mailing_list": mailing_list}
    if dry_run:
        context["confirm"] = CsvImportKeptForm(initial={
            "upload": kept.reference, "mailing_list": mailing_list.pk, "encoding": encoding})
    return context


def _user_id(request: HttpRequest) -> int:
    pk = request.user.pk
    assert pk is not None  # capability_required lets only signed-in staff in
    return int(pk)


def _unreadable_message(exc: Exception) -> str:
    return _("The file could not be read: %(why)s. Nothing was imported.") % {"why": exc}


def _detected(report: ImportReport) -> dict[str, Any]:
    """How the file was read, in words: its encoding, delimiter and what each column fills."""
    encodings = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1251": "Windows-1251"}
    delimiters = {",": _("comma"), ";": _("semicolon"), "\t": _("tab")}
    return {"encoding_label": encodings.get(report.encoding, report.encoding),
            "delimiter_label": delimiters.get(report.delimiter, repr(report.delimiter)),
            "mapping": [(text_clean(title)[:80] or "—", _target_label(target))
                        for title, target in report.mapping]}


def _target_label(target: str) -> str:
    labels = {
        "email": _("email address"), "name": _("full name"), "first_name": _("first name"),
        "last_name": _("last name"), "organisation": _("organisation"), "country": _("country"),
        "language": _("language"), "tags": _("tags"), "attributes": _("extra fields (JSON)"),
        "consent_at": _("time of consent"), "consent_ip": _("IP address of consent"),
        "consent_text": _("consent text"),
        "status": _("status (unsubscribed people are not added)"),
        "unsub_time": _("time of unsubscribing"), "(ignored)": _("not imported"),
    }
    if target.startswith("attributes."):
        return _("extra field “%(key)s”") % {"key": target.removeprefix("attributes.")}
    return labels.get(target, target)


def _upload_too_big(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.WEB_IMPORT_MAX_BYTES + 64_000  # room for the form's other fields

