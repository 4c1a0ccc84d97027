"""manage.py reindex: rebuild the search token index (after a SEARCH_INDEX_KEY rotation or an
upgrade that changes how text is tokenised)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from tickets.models import Ticket
from tickets.search.index import clear_for_rebuild, create_gin_index, reindex_tickets


def _rebuild(span: range) -> int:
    """One batch in one transaction (in a worker process with --workers)."""
    with transaction.atomic():
        return reindex_tickets(span)


def _batches(ids: list[int], size: int) -> Iterator[tuple[range, int]]:
    """Ranges of ticket ids holding ``size`` tickets each, and how many they hold."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield range(chunk[0], chunk[-1] + 1), len(chunk)


class Command(BaseCommand):
    help = (
        "Rebuild the search index in batches of tickets (four reads, one COPY and one "
        "transaction per batch; --workers N runs N batches at once). A full run empties the "
        "index and drops its GIN index first, and builds that once at the end (meanwhile "
        "searches find only the tickets rebuilt so far, more slowly); an interrupted run "
        "keeps what it did: resume with --after <last id shown>, which also builds the GIN "
        "index if it is missing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--after", type=int, default=0, help="start after this ticket id")
        parser.add_argument(
            "--workers", type=int, default=1, help="processes (one per CPU core is plenty)"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="only tickets that have no index row (after an upgrade whose migration "
            "started the index afresh); nothing else is touched, and with none it ends at once",
        )

    def handle(
        self,
        *args: Any,
        batch_size: int,
        after: int,
        workers: int,
        if_missing: bool,
        **options: Any,
    ) -> None:
        if not 1 <= batch_size <= 20_000:
            raise CommandError("--batch-size must be between 1 and 20000")
        if after < 0:
            raise CommandError("--after must be a ticket id (0 or more)")
        if not 1 <= workers <= 32:
            raise CommandError("--workers must be between 1 and 32")
        tickets = Ticket.objects.filter(pk__gt=after)
        if if_missing:
            tickets = tickets.filter(search_tokens__isnull=True)
        ids = list(tickets.order_by("pk").values_list("pk", flat=True))
        if if_missing and not ids:
            with transaction.atomic():
                create_gin_index()
            self.stdout.write("search index complete: no ticket without its row")
            return
        started = time.monotonic()
        if after == 0 and not if_missing:
            with transaction.atomic():
                clear_for_rebuild()
        batches = list(_batches(ids, batch_size))
        spans = [span for span, _ in batches]
        done = rows = 0
        if workers > 1 and len(batches) > 1:
            connections.close_all()  # each forked worker opens its own connection
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                # In order, so "last id" is a point before which every batch is done.
                for (span, size), written in zip(batches, pool.imap(_rebuild, spans), strict=True):
                    done, rows = self._progress(done + size, rows + written, span, ids, started)
        else:
            for span, size in batches:
                done, rows = self._progress(done + size, rows + _rebuild(span), span, ids, started)
        with transaction.atomic():
            create_gin_index()
        took = time.monotonic() - started
        self.stdout.write(f"reindexed {done} tickets ({rows} tokens) in {took:.1f} s")

    def _progress(
        self, done: int, rows: int, span: range, ids: list[int], started: float
    ) -> tuple[int, int]:
        rate = done / max(time.monotonic() - started, 1e-6)
        last = span.stop - 1
        self.stdout.write(f"{done}/{len(ids)} tickets, last id {last}, {rate:.0f} tickets/s")
        return done, rows
