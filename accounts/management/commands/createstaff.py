from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import staff_create
from ticketsystem.roles import ROLES


class Command(BaseCommand):
    help = (
        "Create a staff user with a role. The password is read from a prompt or from "
        "--password-file, never from the command line (argv is visible to other users)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-file", type=Path, help="file holding the password")

    def handle(
        self,
        *args: Any,
        username: str,
        role: str,
        email: str,
        password_file: Path | None,
        **options: Any,
    ) -> None:
        if password_file is not None:
            try:
                password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {password_file}: {exc}") from None
        else:
            # Without a terminal getpass would echo, then fail at the end of its input.
            if not sys.stdin.isatty():
                raise CommandError("no terminal to ask for the password: use --password-file")
            try:
                password = getpass.getpass("Password: ")
                again = getpass.getpass("Password (again): ")
            except EOFError:
                raise CommandError("no password given") from None
            if password != again:
                raise CommandError("the passwords do not match")
        try:
            user = staff_create(
                actor=None, username=username, password=password, role=role, email=email
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"created {role} {user.username}")
