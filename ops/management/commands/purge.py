from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.retention import parse_period
from audit.tally import TALLY_KEEP, prune_tallies
from ops.cli import check_batch_size, cli_username
from tickets.actors import SystemActor
from tickets.selectors import contacts_left_without_tickets, purge_candidates
from tickets.services import tickets_purge


class Command(BaseCommand):
    help = (
        "Anonymise closed tickets past the retention period (subject, description, comments, "
        "attachments; statistics stay) and erase contacts left with only purged tickets. "
        "Batches of one transaction each: safe to interrupt and re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--closed-older-than",
            default=None,
            help="period such as 3y, 18m, 90d (default RETENTION_CLOSED_TICKETS)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would be purged")
        parser.add_argument("--batch-size", type=int, default=100)

    def handle(
        self,
        *args: Any,
        closed_older_than: str | None,
        dry_run: bool,
        batch_size: int,
        **options: Any,
    ) -> None:
        text = closed_older_than or settings.RETENTION_CLOSED_TICKETS
        try:
            period = parse_period(text)
        except ValueError as exc:
            raise CommandError(f"--closed-older-than: {exc}") from None
        check_batch_size(batch_size)
        if dry_run:
            tickets = list(purge_candidates(older_than=period).only("pk", "closed_at"))
            for ticket in tickets:
                when = ticket.closed_at.date().isoformat() if ticket.closed_at else "unknown"
                self.stdout.write(f"would purge {ticket.reference} (closed {when})")
            contacts = contacts_left_without_tickets([ticket.pk for ticket in tickets])
            for contact in contacts:
                self.stdout.write(f"would erase contact #{contact.pk}")
            self.stdout.write(
                f"dry run: {len(tickets)} ticket(s) closed more than {text} ago and "
                f"{len(contacts)} contact(s) would be anonymised, "
                f"{prune_tallies(dry_run=True)} failure count(s) older than "
                f"{TALLY_KEEP.days} days deleted; nothing changed"
            )
            return
        report = tickets_purge(
            actor=SystemActor("purge"),
            older_than=period,
            batch_size=batch_size,
            username=cli_username(),
        )
        for reference in report.tickets:
            self.stdout.write(f"purged {reference}")
        self.stdout.write(
            f"purged {len(report.tickets)} ticket(s) closed more than {text} ago; "
            f"erased {len(report.contacts)} contact(s)"
        )
        if report.mail:
            self.stdout.write(f"deleted {report.mail} mail source(s) older than {text}")
        tallies = prune_tallies()
        if tallies:
            self.stdout.write(
                f"deleted {tallies} failure count(s) older than {TALLY_KEEP.days} days"
            )
