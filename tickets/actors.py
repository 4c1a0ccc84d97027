"""Who acts on a ticket: a staff member, the system (a command or worker, named in history)
or a contact (the requester, writing by mail). Every service takes one as ``actor``; the rules
that depend on who acts live in the services, which ask these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickets.models import Contact


@dataclass(frozen=True)
class SystemActor:
    """A command or worker acting on its own; ``job`` names it in the ticket's history."""

    job: str = "system"

    def __str__(self) -> str:
        return self.job


SYSTEM = SystemActor()
REQUESTER = "requester"  # the history's name for a contact's action (never their data)


def is_contact(actor: Any) -> bool:
    return isinstance(actor, Contact)


def is_system(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


def staff_user(actor: Any) -> Any:
    """The staff user behind an action, or None for the system and for contacts."""
    return None if actor is None or is_contact(actor) or is_system(actor) else actor


def actor_name(actor: Any) -> str:
    """The name history shows when no staff member acted."""
    if is_system(actor):
        return actor.job[:50]
    return REQUESTER if is_contact(actor) else ""
