"""Admin-only audience pages of the app: CSV import with its row errors.

Lists, subscribers, segments and suppressions are managed in the admin site.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from mailer.web.access import capability_required
from mailer.web.forms import CsvImportForm, import_too_big_message
from mailer.web.roles import Cap
from subscribers.importer import Unreadable, import_csv


@capability_required(Cap.MANAGE_AUDIENCE)
def subscribers_import(request: HttpRequest) -> HttpResponse:
    """A web request imports at most ``WEB_IMPORT_MAX_BYTES``: a 60 MB file took minutes,
    holding a web worker all that time (issue 10). Larger files are refused before the
    upload is parsed, with the command that imports them. A Celery task was the other
    choice; it would need storage shared by web and workers and a page to poll, while the
    command already streams any size and reports each bad row."""
    if request.method == "POST" and _upload_too_big(request):
        messages.error(request, import_too_big_message())
        return render(request, "app/import.html", {"form": CsvImportForm(), "report": None},
                      status=413)
    form = CsvImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = import_csv(data["csv_file"].file, data["mailing_list"],
                                dry_run=data["dry_run"], actor=f"user:{request.user.get_username()}",
                                source=f"web import of {data['csv_file'].name}")
        except Unreadable as exc:
            form.add_error("csv_file", _("The file could not be read: %(why)s. Nothing was "
                                         "imported.") % {"why": exc})
    return render(request, "app/import.html", {"form": form, "report": report})


def _upload_too_big(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.WEB_IMPORT_MAX_BYTES + 64_000  # room for the form's other fields

