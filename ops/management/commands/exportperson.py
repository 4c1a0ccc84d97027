from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ops.cli import cli_username
from ops.management.commands._person import add_person_arguments, contacts_from_options, describe
from tickets.personal_data import person_export_to_file


class Command(BaseCommand):
    help = (
        "Export everything held about a contact (decrypted: contact details, tickets, "
        "comments, attachments) as JSON into a new file readable only by its owner (0600). "
        "Audited as an 'exported' security event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument("--output", type=Path, help="file to create (default: GDPR_EXPORT_DIR)")
        parser.add_argument("--no-files", action="store_true", help="leave attachment contents out")

    def handle(
        self,
        *args: Any,
        email: str | None,
        contact_id: int | None,
        output: Path | None,
        no_files: bool,
        **options: Any,
    ) -> None:
        contacts = contacts_from_options(email, contact_id)
        if not contacts:
            raise CommandError(
                "no contact holds this email address (erased contacts: use --contact-id)"
            )
        if output is None:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
            output = Path(settings.GDPR_EXPORT_DIR) / f"contact-{contacts[0].pk}-{stamp}.json"
        try:
            size = person_export_to_file(
                actor=None,
                contacts=contacts,
                path=output,
                include_files=not no_files,
                username=cli_username(),
            )
        except FileExistsError:
            raise CommandError(f"{output} already exists; choose another --output") from None
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        self.stdout.write(
            f"exported contact {describe(contacts)} to {output} ({size} bytes, mode 0600)"
        )
