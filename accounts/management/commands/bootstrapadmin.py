from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import staff_create
from ticketsystem.roles import ADMIN


class Command(BaseCommand):
    help = (
        "Create the first admin with a random password, printed once, but only when no user "
        "exists yet. Safe to run on every start: afterwards it does nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if get_user_model().objects.exists():
            self.stdout.write("users exist already; no admin created")
            return
        password = secrets.token_urlsafe(18)
        try:
            staff_create(actor=None, username=username, password=password, role=ADMIN)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\nFirst admin created. Log in at /accounts/login/ with\n"
            f"  username: {username}\n  password: {password}\n"
            "This password is shown only now. After it you will set up an authenticator app\n"
            f"(two-factor authentication is required). Change the password after logging in.\n{bar}"
        )
