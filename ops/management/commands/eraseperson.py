from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ops.cli import cli_username
from ops.management.commands._person import add_person_arguments, contacts_from_options
from tickets.actors import SystemActor
from tickets.services import person_erase


class Command(BaseCommand):
    help = (
        "Erase a contact: anonymise name, email, phone and the email's blind index in place, "
        "keeping the tickets and their statistics. With --include-tickets, also remove the "
        "content of the contact's tickets (subject, description, comments, attachments). "
        "Idempotent; audited as an 'erased' security event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument(
            "--include-tickets", action="store_true", help="also anonymise the contact's tickets"
        )

    def handle(
        self,
        *args: Any,
        email: str | None,
        contact_id: int | None,
        include_tickets: bool,
        **options: Any,
    ) -> None:
        contacts = contacts_from_options(email, contact_id)
        if not contacts:
            # Nothing holds this address (any more): the erasure is already complete.
            self.stdout.write("no contact holds this email address; nothing to erase")
            return
        for contact in contacts:
            result = person_erase(
                actor=SystemActor("eraseperson"),
                contact=contact,
                include_tickets=include_tickets,
                username=cli_username(),
            )
            state = "was already erased" if result.already_erased else "erased"
            line = f"contact #{result.contact_id} {state}"
            if include_tickets:
                line += f"; {result.tickets_anonymised} ticket(s) anonymised"
            self.stdout.write(line)
