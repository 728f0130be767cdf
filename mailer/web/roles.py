"""Roles are Django groups holding the app's capabilities (``web.<codename>``).

The groups are created by migration ``0002_roles``; ``role_assign`` is the one place a
user's role changes, because the Admin role also needs ``is_staff`` for the admin site.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction


class Role(StrEnum):
    ADMIN = "Admin"
    COMMS = "Comms staff"
    VIEWER = "Viewer"


class Cap(StrEnum):
    """Capabilities, as the permission strings ``user.has_perm`` takes."""

    VIEW_REPORTS = "web.view_reports"
    EDIT_ISSUES = "web.edit_issues"
    SEND_ISSUES = "web.send_issues"
    APPROVE_SENDS = "web.approve_sends"
    MANAGE_AUDIENCE = "web.manage_audience"
    MANAGE_SETTINGS = "web.manage_settings"


ROLE_CAPABILITIES: dict[Role, frozenset[Cap]] = {
    Role.VIEWER: frozenset({Cap.VIEW_REPORTS}),
    Role.COMMS: frozenset({Cap.VIEW_REPORTS, Cap.EDIT_ISSUES, Cap.SEND_ISSUES}),
    Role.ADMIN: frozenset(Cap),
}


def role_assign(user: Any, role: Role) -> None:
    """Give ``user`` exactly one role. Admins get ``is_staff`` (the admin site needs it);
    everyone else loses it, so a demoted admin cannot keep using the admin site."""
    with transaction.atomic():
        user.groups.set([Group.objects.get(name=role.value)])
        user.is_staff = role is Role.ADMIN
        user.save(update_fields=["is_staff"])


def role_of(user: Any) -> Role | None:
    """The user's strongest role, or None (anonymous, or no role yet)."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in (Role.ADMIN, Role.COMMS, Role.VIEWER):
        if role.value in names:
            return role
    return None


# Apps whose models an Admin manages in the admin site.
ADMIN_APPS = ("auth", "subscribers", "issues", "brand", "sending", "web")


def roles_sync(**kwargs: object) -> None:
    """Make sure the role groups hold their capabilities, and Admin every model
    permission of ``ADMIN_APPS`` (run after each migrate: new models bring new ones)."""
    from django.contrib.auth.models import Permission

    for role, caps in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        codenames = [cap.value.split(".", 1)[1] for cap in caps]
        group.permissions.add(*Permission.objects.filter(content_type__app_label="web",
                                                         codename__in=codenames))
    Group.objects.get(name=Role.ADMIN.value).permissions.add(
        *Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
