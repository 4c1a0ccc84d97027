"""Counts that stay cheap at 100k tickets: a capped list count, and dashboard totals answered
from the partial covering index alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tickets import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def nine(agent, queue_a, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_COUNT_CAP", 5)
    for i in range(9):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Bulk {i}")


def _page(client, number):
    with override_settings(TICKETS_PER_PAGE=2):
        return client.get("/tickets/", {"sort": "oldest", "page": number})


def test_past_the_cap_the_list_says_more_than_and_still_links_next_and_previous(agent_client, nine):
    with CaptureQueriesContext(connection) as queries:
        first = _page(agent_client, 1)
    html = first.content.decode()
    assert "More than 5 tickets" in html
    assert 'rel="next" href="?sort=oldest&amp;after=' in html and "Last »" not in html
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 6" in counts[0]  # reads at most cap + 1 rows

    deep = _page(agent_client, 4)  # a page number past the cap: counted up to it, one more
    assert [t.subject for t in deep.context["page"].object_list] == ["Bulk 6", "Bulk 7"]
    html = deep.content.decode()
    assert 'rel="next" href="?sort=oldest&amp;after=' in html
    assert 'rel="prev" href="?sort=oldest&amp;before=' in html

    last = _page(agent_client, 5)  # the whole list counted: exact again
    assert [t.subject for t in last.context["page"].object_list] == ["Bulk 8"]
    assert "9 tickets" in last.content.decode() and "page 5 of 5" in last.content.decode()
    assert _page(agent_client, 6).status_code == 404


def test_the_live_list_says_when_its_count_is_a_floor(agent_client, nine):
    with override_settings(TICKETS_PER_PAGE=2):
        data = agent_client.get("/live/tickets.json", {"sort": "oldest"}).json()
        assert (data["count"], data["count_capped"]) == (6, True)
        exact = agent_client.get("/live/tickets.json", {"sort": "oldest", "page": 5}).json()
        assert (exact["count"], exact["count_capped"]) == (9, False)


def test_below_the_cap_the_count_is_exact(agent_client, agent, queue_a):
    services.ticket_create(actor=agent, queue=queue_a, subject="Only one")
    html = agent_client.get("/tickets/").content.decode()
    assert "1 ticket<" in html and "More than" not in html


def test_dashboard_totals_are_an_index_only_scan_of_the_partial_covering_index(agent, ticket_a):
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_data(agent)
    totals = next(q["sql"] for q in queries.captured_queries if "FILTER (WHERE" in q["sql"])
    assert "COUNT(" in totals and '"tickets_ticket"."id") FILTER' not in totals
    with connection.cursor() as cursor:
        # A handful of rows would be read sequentially, or through any index; ask whether
        # this one index alone can answer (the test's transaction is rolled back after it).
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'tickets_ticket'"
            " AND indexdef NOT LIKE 'CREATE UNIQUE%%' AND indexname <> 'ticket_active_cover'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + totals)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using ticket_active_cover" in plan, plan


@pytest.mark.parametrize("path", ["/tickets/", "/dashboard/", "/live/tickets.json"])
def test_lists_and_the_dashboard_never_load_a_description(agent_client, ticket_a, path):
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get(path).status_code == 200
    ticket_reads = [q["sql"] for q in queries.captured_queries if '"tickets_ticket"' in q["sql"]]
    assert ticket_reads
    assert not [sql for sql in ticket_reads if '"tickets_ticket"."description"' in sql]
