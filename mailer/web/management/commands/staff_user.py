"""Create a staff account with a role, or change an existing account's role.

    manage.py staff_user casey --role comms --email casey@example.org

The password is read from STAFF_PASSWORD or asked for; it is never an argument
(arguments end up in shell history and process lists).
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailer.web.roles import Role, role_assign

ROLES = {"admin": Role.ADMIN, "comms": Role.COMMS, "viewer": Role.VIEWER}


class Command(BaseCommand):
    help = "Create a staff user with a role (admin, comms, viewer) or change a user's role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        model = get_user_model()
        user = model.objects.filter(username=opts["username"]).first()
        if user is None:
            password = os.environ.get("STAFF_PASSWORD") or getpass.getpass("Password: ")
            candidate = model(username=opts["username"], email=opts["email"])
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages) + "; nobody was created") from None
            user = model.objects.create_user(opts["username"], opts["email"], password)
            verb = "created"
        else:
            if opts["email"]:
                user.email = opts["email"]
                user.save(update_fields=["email"])
            verb = "updated"
        role_assign(user, ROLES[opts["role"]])
        self.stdout.write(f"{verb} {user.get_username()} as {ROLES[opts['role']].value}")
