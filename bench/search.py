"""Search over the blind token index: query time, query count, index size, reindex rate.

    createdb -h 127.0.0.1 -U postgres ts_search   # once; the bench migrates and seeds it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ts_search \
        .venv/bin/python bench/search.py --tickets 20000 --runs 30

Seeds with `manage.py seeddemo` up to --tickets (bulk rows, no index), times `manage.py
reindex` over all of them, times the index write of a ticket and of a comment, then requests /tickets/?q=... through the test client (full stack,
real PostgreSQL) as a manager (all queues) and prints median/p95 server time and SQL queries
for a one-word, a three-word, a prefix and a phrase search, and the index's size next to the
encrypted text it covers. Targets (issue 14, at 100k tickets): one word < 50 ms, three words
and prefix < 80 ms, index <= 3x the encrypted text, reindex >= 5 000 tickets/s.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("THROTTLE_SEARCH_PER_MINUTE", "100000")
os.environ.setdefault("LOG_LEVEL", "ERROR")

QUERIES = {
    "no search": "",
    "one word": "printer",
    "three words": "printer not working",
    "prefix": "print*",
    "phrase": '"not working"',
}


def write_overhead(runs: int) -> None:
    """Median time of the index write alone for a new ticket (written from memory, as the
    create service does), a new comment on a ticket that already has comments, and a ticket
    rebuilt after an edit (all rolled back)."""
    from django.db import transaction

    from tickets import search
    from tickets.models import Comment, Ticket
    from tickets.search.models import SearchToken

    ticket = Ticket.objects.filter(comments__isnull=False).order_by("-pk").first()
    description = ticket.description
    created, commented, rebuilt = [], [], []
    for n in range(runs):
        with transaction.atomic():
            comment = Comment.objects.create(ticket=ticket, body=f"Swapped the dock {n} today")
            started = time.perf_counter()
            search.index_comment(comment)
            commented.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            search.index_ticket(ticket)
            rebuilt.append((time.perf_counter() - started) * 1000)
            SearchToken.objects.filter(ticket=ticket).delete()
            started = time.perf_counter()
            search.index_new_ticket(ticket, description=description)
            created.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    print(
        f"index write: new ticket median {statistics.median(created):.2f} ms, "
        f"comment (append) median {statistics.median(commented):.2f} ms, "
        f"ticket rebuilt after an edit median {statistics.median(rebuilt):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="reindex processes")
    parser.add_argument(
        "--no-reindex", action="store_true", help="time the searches on the index as it is"
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import login, make_user
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    have = Ticket.objects.count()
    if have < args.tickets:
        started = time.monotonic()
        call_command("seeddemo", tickets=args.tickets - have, seed=have + 1)
        print(f"seeded {args.tickets - have} tickets in {time.monotonic() - started:.0f} s")
    if not args.no_reindex:
        started = time.monotonic()
        workers = ["--workers", str(args.workers)]
        call_command("reindex", "--batch-size", "2000", *workers, stdout=io.StringIO())
        took = time.monotonic() - started
        total = Ticket.objects.count()
        print(
            f"reindex ({args.workers} workers): {total} tickets in {took:.1f} s"
            f" = {total / took:.0f} tickets/s"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_searchtoken")
        cursor.execute(
            "SELECT pg_total_relation_size('tickets_searchtoken'),"
            " (SELECT sum(octet_length(description)) FROM tickets_ticketbody)"
            " + (SELECT sum(octet_length(body)) FROM tickets_comment)"
            " + (SELECT coalesce(sum(octet_length(name) + octet_length(email)), 0)"
            "    FROM tickets_contact), (SELECT count(*) FROM tickets_searchtoken),"
            " (SELECT sum(cardinality(tokens)) FROM tickets_searchtoken)"
        )
        index_bytes, text_bytes, rows, stored = cursor.fetchone()
    print(
        f"index: {rows} rows, {stored} tokens, {index_bytes / 2**20:.0f} MiB; encrypted text "
        f"{text_bytes / 2**20:.0f} MiB; ratio {index_bytes / text_bytes:.1f}x"
    )
    write_overhead(args.runs)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="bench-search").first() or make_user(
        "bench-search", "manager"
    )
    client = login(Client(), user)
    for name, q in QUERIES.items():
        times, cpu, sql, queries, found = [], [], [], 0, 0
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as ctx:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get("/tickets/", {"q": q})
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            sql.append(sum(float(c["time"]) for c in ctx.captured_queries) * 1000)
            assert response.status_code == 200, response.status_code
            queries = len(ctx.captured_queries)
            html = response.content.decode()
            found = html.split("data-list-count data-value=")[-1][:12].split(">")[0]
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{name:12} {q!r:24} median {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms"
            f"  min {times[0]:6.1f} ms  (python cpu {statistics.median(cpu):5.1f} ms, sql"
            f" {statistics.median(sql):5.1f} ms)  {queries} queries  {found} hits"
        )


if __name__ == "__main__":
    main()
