"""Shared helpers for management commands."""

from __future__ import annotations

import getpass

from django.core.management.base import CommandError


def cli_username() -> str:
    """How a command's security events name who ran it: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"[:150]
    except (KeyError, OSError):
        return "cli"


# A larger --batch-size overflows the database's LIMIT (bigint) into a traceback.
MAX_BATCH_SIZE = 1_000_000


def check_batch_size(value: int) -> None:
    """A one-line CommandError for a --batch-size out of range."""
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")
