"""Django's ``changepassword``, through the accounts service: the user's sessions and live
sockets end, a ``password_changed`` security event names who ran it, the user is told."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.services import password_set_by_operator
from ops.cli import cli_username

MAX_TRIES = 3


class Command(changepassword.Command):
    help = (
        "Set a user's password (asked twice at the terminal); ends all of the user's sessions "
        "and is recorded as a security event."
    )

    def handle(self, *args: Any, **options: Any) -> str:
        username = options["username"] or cli_username().removeprefix("cli:")
        user_model = get_user_model()
        try:
            user = user_model._default_manager.using(options["database"]).get(
                **{user_model.USERNAME_FIELD: username}
            )
        except user_model.DoesNotExist:
            raise CommandError(f"user '{username}' does not exist") from None
        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            first, second = self._get_pass(), self._get_pass("Password (again): ")
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                ended = password_set_by_operator(user=user, password=first, username=cli_username())
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            return f"Password changed for user '{user}'; {ended} session(s) ended"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
