"""Choosing the contact a GDPR command works on."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from tickets.models import Contact
from tickets.selectors import find_contacts


def add_person_arguments(parser: CommandParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the contact's email address (exact match)")
    who.add_argument("--contact-id", type=int, help="the contact's id (also finds erased contacts)")


def contacts_from_options(email: str | None, contact_id: int | None) -> list[Contact]:
    """The matching contacts; [] when an email matches none (it may have been erased)."""
    if contact_id is not None:
        try:
            return [Contact.objects.get(pk=contact_id)]
        except Contact.DoesNotExist:
            raise CommandError(f"no contact with id {contact_id}") from None
    if not (email or "").strip():
        raise CommandError("--email must not be empty")
    return find_contacts(email or "")


def describe(contacts: list[Any]) -> str:
    return ", ".join(f"#{c.pk}" for c in contacts)
