"""Server time and SQL queries per page, measured in-process against a seeded database.

    createdb -h 127.0.0.1 -U postgres ts_bench   # once; the bench migrates and seeds it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ts_bench \
        .venv/bin/python bench/pages.py --tickets 100000 --runs 40

Seeds the database with `manage.py seeddemo` up to --tickets if it holds fewer, then requests
each page --runs times through Django's test client (full middleware stack, templates, real
PostgreSQL) as an agent (member of two queues) and a manager (all queues), and prints median
and p95 server time and the number of SQL queries. Use a database of its own: the bench adds
users and tickets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
# The test client's host. (Not setup_test_environment(): it instruments every template
# render, which would inflate the numbers.)
os.environ["ALLOWED_HOSTS"] = "testserver"
# Measure pages, not the per-user write throttle (30 POSTs a minute) or log output.
os.environ.setdefault("THROTTLE_POST_PER_MINUTE", "100000")
os.environ.setdefault("THROTTLE_SEARCH_PER_MINUTE", "100000")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def measure(
    client: Any, method: str, url: str, runs: int, data: Any = None
) -> tuple[float, float, float, float, int, int]:
    """Median, p95 and best server time, median CPU time of this process (the Python side
    alone), queries, status. On a busy machine the best of the runs and the CPU time are
    steadier than the median."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call = getattr(client, method)

    def send() -> Any:
        payload = data() if callable(data) else data
        return call(url, payload) if payload is not None else call(url)

    for _ in range(3):  # warm caches and connections
        send()
    times = []
    cpu = []
    queries = 0
    status = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = send()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        queries = len(captured)
        status = response.status_code
    return (
        statistics.median(times),
        percentile(times, 95),
        min(times),
        statistics.median(cpu),
        queries,
        status,
    )


def keyset_url(user: Any, number: int) -> str | None:
    """The list URL that "Next" on page ``number - 1`` of all tickets links to (None on a
    tree from before keyset paging, so the bench can compare against one)."""
    try:
        from tickets import keyset, selectors
    except ImportError:
        return None

    filters = {"status": "any", "q": ""}
    qs, keys = selectors.filtered_tickets(user, filters, "updated")
    row = keyset.rows(qs, keys, None, 1, offset=(number - 1) * 50 - 1)[0]
    cursor = keyset.Cursor("updated", keyset.key_of(row), False, number)
    return f"/tickets/?status=any&sort=updated&after={cursor.token()}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from tests.conftest import login
    from tickets.models import Ticket
    from ticketsystem.roles import AGENT
    from ticketsystem.serving import settle

    call_command("migrate", verbosity=0)
    settle()  # as the servers do once the app is loaded (ticketsystem/wsgi.py)
    have = Ticket.objects.count()
    if have < args.tickets:
        call_command("seeddemo", tickets=args.tickets - have, seed=have + 1)
        from django.db import connection

        if connection.vendor == "postgresql":  # as autovacuum would, before anyone measures
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    agent = (
        user_model.objects.filter(groups__name=AGENT, queues__isnull=False).order_by("id").first()
    )
    manager = user_model.objects.get(username="demo.manager")
    total = Ticket.objects.count()
    queue_id = agent.queues.order_by("id").first().pk
    busy = Ticket.objects.filter(queue_id=queue_id, comments__isnull=False).order_by("-id").first()
    # A deep page of all tickets: by page number (OFFSET) and by the "Next" cursor a reader
    # arrives with after as many pages (keyset: the rows after that page's last row).
    # An open ticket's page also renders its action forms (closed: none).
    busy_open = (
        Ticket.objects.filter(queue_id=queue_id, status="open", comments__isnull=False)
        .order_by("-id")
        .first()
    )
    deep_page = max(1, min(1000, Ticket.objects.filter(queue__members=agent).count() // 50 - 1))

    rows = []
    for who, user in (("agent", agent), ("manager", manager)):
        client = login(Client(), user)
        deep_cursor = keyset_url(user, deep_page)
        pages = [
            ("dashboard", "get", "/dashboard/", None),
            ("list, page 1", "get", "/tickets/", None),
            ("list, filter", "get", f"/tickets/?status=open&queue={queue_id}&priority=2", None),
            ("list, search", "get", "/tickets/?q=printer+queue", None),
            (
                f"list, page {deep_page} (OFFSET)",
                "get",
                f"/tickets/?status=any&page={deep_page}",
                None,
            ),
            *(
                [(f"list, page {deep_page} (keyset)", "get", deep_cursor, None)]
                if deep_cursor
                else []
            ),
            ("list, sort by due", "get", "/tickets/?status=active&sort=due", None),
            (f"ticket detail ({busy.status})", "get", busy.get_absolute_url(), None),
            ("ticket detail (open)", "get", busy_open.get_absolute_url(), None),
            (
                "create ticket (POST)",
                "post",
                "/tickets/new/",
                lambda: {
                    "queue": queue_id,
                    "priority": 2,
                    "subject": "Bench ticket",
                    "description": "Created by bench/pages.py",
                    "contact_email": "bench@example.com",
                },
            ),
        ]
        for name, method, url, data in pages:
            median, p95, best, cpu, queries, status = measure(client, method, url, args.runs, data)
            rows.append((who, name, median, p95, best, cpu, queries, status))

    header = f"{total} tickets, {args.runs} runs per page, database {django.db.connection.vendor}"
    if args.markdown:
        print(f"\n{header}\n")
        print("| user | page | median ms | p95 ms | best ms | CPU ms | queries | status |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for who, name, median, p95, best, cpu, queries, status in rows:
            print(
                f"| {who} | {name} | {median:.1f} | {p95:.1f} | {best:.1f} | {cpu:.1f} "
                f"| {queries} | {status} |"
            )
    else:
        print(header)
        print(
            f"{'user':8} {'page':28} {'median ms':>10} {'p95 ms':>8} {'best ms':>8} "
            f"{'CPU ms':>7} {'queries':>8} {'status':>7}"
        )
        for who, name, median, p95, best, cpu, queries, status in rows:
            print(
                f"{who:8} {name:28} {median:10.1f} {p95:8.1f} {best:8.1f} {cpu:7.1f} "
                f"{queries:8d} {status:7d}"
            )


if __name__ == "__main__":
    main()
