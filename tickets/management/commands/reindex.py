"""manage.py reindex: rebuild the search token index (after a SEARCH_INDEX_KEY rotation or an
upgrade that changes how text is tokenised)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tickets.models import Ticket
from tickets.search.index import reindex_tickets


class Command(BaseCommand):
    help = (
        "Rebuild the search index in batches of tickets (four reads, one COPY and one "
        "transaction per batch; an interrupted run keeps what it did: resume with "
        "--after <last id shown>)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--after", type=int, default=0, help="start after this ticket id")

    def handle(self, *args: Any, batch_size: int, after: int, **options: Any) -> None:
        if not 1 <= batch_size <= 20_000:
            raise CommandError("--batch-size must be between 1 and 20000")
        if after < 0:
            raise CommandError("--after must be a ticket id (0 or more)")
        total = Ticket.objects.filter(pk__gt=after).count()
        done = rows = 0
        started = time.monotonic()
        while True:
            ids = list(
                Ticket.objects.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            with transaction.atomic():
                rows += reindex_tickets(ids)
            after, done = ids[-1], done + len(ids)
            rate = done / max(time.monotonic() - started, 1e-6)
            self.stdout.write(f"{done}/{total} tickets, last id {after}, {rate:.0f} tickets/s")
        self.stdout.write(f"reindexed {done} tickets ({rows} tokens)")
