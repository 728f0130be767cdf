"""Admin-only audience pages of the app: CSV import with its row errors.

Lists, subscribers, segments and suppressions are managed in the admin site.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from mailer.web.access import capability_required
from mailer.web.forms import CsvImportForm
from mailer.web.roles import Cap
from subscribers.importer import Unreadable, import_csv


@capability_required(Cap.MANAGE_AUDIENCE)
def subscribers_import(request: HttpRequest) -> HttpResponse:
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
