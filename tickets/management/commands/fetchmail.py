"""manage.py fetchmail: poll each queue's IMAP mailbox (cron, every minute or two)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets import services
from tickets.mail.fetch import FetchError, fetch_mailbox
from tickets.mail.inbound_models import QueueMailbox


class Command(BaseCommand):
    help = (
        "Fetch new mail from every enabled queue mailbox (IMAPS) into tickets, replies or the "
        "quarantine; a message is marked seen or moved on the server only after it is stored. "
        "Exits non-zero if any mailbox failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", metavar="SLUG", help="only this queue's mailbox")

    def handle(self, *args: Any, queue: str | None, **options: Any) -> None:
        mailboxes = QueueMailbox.objects.filter(enabled=True).select_related("queue")
        if queue is not None:
            mailboxes = mailboxes.filter(queue__slug=queue)
            if not mailboxes.exists():
                raise CommandError(f"no enabled mailbox for a queue with the slug {queue!r}")
        failed = []
        for mailbox in mailboxes.order_by("queue__slug"):
            try:
                report = fetch_mailbox(mailbox)
            except FetchError as exc:
                services.mailbox_fetched(mailbox=mailbox, error=str(exc))
                failed.append(f"{mailbox.queue.slug}: {exc}")
                continue
            services.mailbox_fetched(mailbox=mailbox)
            self.stdout.write(report.line())
        if failed:
            raise CommandError(f"{len(failed)} mailbox(es) failed: " + "; ".join(failed))
