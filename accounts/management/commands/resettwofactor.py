from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import two_factor_reset


class Command(BaseCommand):
    help = (
        "Remove a user's authenticator app and backup codes and end their sessions; they set "
        "up two-factor authentication again at their next login. For when no admin can log "
        "in to do it from the admin site."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        ended = two_factor_reset(actor=None, user=user)
        self.stdout.write(
            f"two-factor authentication reset for {user.username}; {ended} session(s) ended"
        )
