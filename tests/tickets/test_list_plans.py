"""Query plans at 100 000 tickets: every query the list and the dashboard run on the ticket
table (agent and manager; page 1, each filter, each sort, a deep keyset page, the dashboard's
counts and lists, the pager count, the saved views' counts, a search by reference) is
EXPLAINed as the pages send it, and none reads the table sequentially.

The tickets are seeded with one INSERT ... SELECT generate_series (a plan does not care what
the encrypted columns hold), then ANALYZEd as autovacuum would. Slow lane (tests/conftest.py).
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import login, make_user
from tickets import listing
from tickets.models import Queue, Ticket
from tickets.organising_models import SavedView, Tag

# Committed, so that VACUUM can run (not inside a transaction): index-only scans are only
# chosen on pages the visibility map marks all-visible, as autovacuum leaves them.
# serialized_rollback, as every transactional test here: the flush would drop the role groups.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TICKETS = 100_000
NEXT = re.compile(r'rel="next" href="\?([^"]*)"')

SEED = """
INSERT INTO tickets_ticket
    (uid, subject, status, priority, created_at, updated_at, due_at, assignee_id, queue_id)
SELECT gen_random_uuid(),
       'Seeded ticket ' || (g * 7919 %% %(n)s),
       CASE WHEN g %% 100 < 8 THEN 'new' WHEN g %% 100 < 16 THEN 'open'
            WHEN g %% 100 < 22 THEN 'pending' WHEN g %% 100 < 32 THEN 'resolved'
            ELSE 'closed' END,
       1 + g %% 4,
       now() - make_interval(mins => g),
       now() - make_interval(mins => g * 7 %% %(n)s),
       CASE WHEN g %% 5 = 0 THEN NULL ELSE now() + make_interval(mins => g %% 3000 - 1500) END,
       (%(people)s::int[])[1 + g %% %(k)s],
       (%(queues)s::bigint[])[1 + g %% 6]
FROM generate_series(1, %(n)s) AS g
"""


@pytest.fixture
def seeded(agent, manager, queue_a, queue_b):
    queues = [queue_a, queue_b] + [
        Queue.objects.create(name=f"Queue {i}", slug=f"queue-{i}") for i in range(4)
    ]
    queue_b.members.add(agent)  # two of six queues: a third of the tickets
    # Ten people share the tickets (one in ten assigned to nobody), as in seeddemo.
    others = [make_user(f"agent{i}", "agent").pk for i in range(7)]
    people = [None, agent.pk, manager.pk, *others]
    tag = Tag.objects.create(name="VIP", slug="vip")
    with connection.cursor() as cursor:
        cursor.execute(
            SEED.replace("%(n)s", str(TICKETS)).replace("%(k)s", str(len(people))),
            {"people": people, "queues": [q.pk for q in queues]},
        )
        cursor.execute(
            "INSERT INTO tickets_tag_tickets (tag_id, ticket_id)"
            " SELECT %s, id FROM tickets_ticket WHERE id %% 40 = 0",
            [tag.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    for owner in (agent, manager):
        SavedView.objects.create(owner=owner, name="Urgent", query="priority=4&status=active")
        SavedView.objects.create(owner=owner, name="Mine", query="assignee=me")
    return {"queue": queue_b, "agent": agent, "manager": manager, "tag": tag}


def _ticket_queries(client: Any, url: str) -> list[str]:
    """The SELECTs on the ticket table that this page sends."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and '"tickets_ticket"' in q["sql"]
    ]


def _sequential_scans(sql: str) -> list[str]:
    """The plan nodes that read the ticket table sequentially."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql.replace("%", "%%"))
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = []

    def visit(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == "tickets_ticket":
            found.append(f"{node['Node Type']} on tickets_ticket ({node.get('Filter', '')})")
        for child in node.get("Plans", []):
            visit(child)

    visit(plan[0]["Plan"])
    return found


def _deep_query(client: Any, start: str, hops: int = 3) -> str:
    """A page reached by following "Next" ``hops`` times, starting deep in the list."""
    query = start
    for _ in range(hops):
        html = client.get(f"/tickets/?{query}").content.decode()
        query = unescape(NEXT.search(html).group(1))
    return query


def _urls(seeded: dict[str, Any], user: Any) -> list[str]:
    queue, tag = seeded["queue"], seeded["tag"]
    sorts = [name for name, _ in listing.sort_choices()]
    return [
        "/dashboard/",
        "/tickets/",
        "/tickets/?page=40",  # the last numbered page a count below the cap links to
        *(f"/tickets/?sort={sort}" for sort in sorts),
        *(
            f"/tickets/?status=any&sort={sort}"
            for sort in ("updated", "-updated", "created", "oldest", "ref", "-ref")
        ),
        "/tickets/?status=open",
        "/tickets/?status=closed",
        "/tickets/?status=any",
        f"/tickets/?queue={queue.pk}",
        f"/tickets/?status=any&queue={queue.pk}",
        "/tickets/?priority=4",
        f"/tickets/?status=open&queue={queue.pk}&priority=2",
        "/tickets/?assignee=me",
        "/tickets/?assignee=unassigned",
        f"/tickets/?assignee={seeded['manager'].pk}",
        "/tickets/?status=any&assignee=me",
        "/tickets/?due=overdue&sort=due",
        "/tickets/?due=soon&sort=due",
        f"/tickets/?tag={tag.slug}",
        f"/tickets/?status=any&tag={tag.slug}",
        "/tickets/?q=T-000123",
        "/tickets/?status=any&q=T-000123",
    ]


def test_no_list_or_dashboard_query_reads_the_ticket_table_sequentially(seeded):
    assert Ticket.objects.count() == TICKETS
    problems = []
    checked = 0
    for who in ("agent", "manager"):
        user = seeded[who]
        client = login(Client(), user)
        urls = _urls(seeded, user)
        urls.append("/tickets/?" + _deep_query(client, "status=any&page=30"))
        urls.append("/tickets/?" + _deep_query(client, "sort=due&page=30"))
        for url in urls:
            for sql in _ticket_queries(client, url):
                checked += 1
                scans = _sequential_scans(sql)
                problems += [f"{who} {url}: {scan}\n    {sql[:400]}" for scan in scans]
    assert checked > 100
    assert not problems, "\n".join(problems)
