"""The admin site, themed like the staff app and answering 403 (not a login form) to
signed-in staff whose role has no admin access.

Activated by listing ``mailer.web.admin_site.StaffAdminConfig`` instead of
``django.contrib.admin`` in INSTALLED_APPS; the stock site still works without it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy as _


class StaffAdminSite(admin.AdminSite):
    site_header = _("Newsletter admin")
    site_title = _("Newsletter admin")
    index_title = _("Lists, subscribers, imports, segments, suppressions, users")

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # A Viewer or Comms staff member is signed in but not staff: showing them the
            # admin login form invites them to try other passwords; say "forbidden".
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("the admin area is for Admins")
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, view)


class StaffAdminConfig(AdminConfig):
    default_site = "mailer.web.admin_site.StaffAdminSite"
