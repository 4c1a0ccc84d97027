"""Shared helpers for management commands."""

from __future__ import annotations

import getpass


def cli_username() -> str:
    """How a command's security events name who ran it: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"[:150]
    except (KeyError, OSError):
        return "cli"
