"""The dashboard: counts by status, my tickets, unassigned, overdue, due soon, activity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_it_shows_counts_lists_and_activity(agent_client, agent, queue_a):
    mine = services.ticket_create(actor=agent, queue=queue_a, subject="Mine")
    services.ticket_assign(actor=agent, ticket=mine, assignee=agent)
    late = services.ticket_create(actor=agent, queue=queue_a, subject="Late one")
    Ticket.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    soon = services.ticket_create(actor=agent, queue=queue_a, subject="Soon one")
    Ticket.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(minutes=20))
    done = services.ticket_create(actor=agent, queue=queue_a, subject="Done")
    services.ticket_change_status(actor=agent, ticket=done, status="resolved")

    response = agent_client.get("/dashboard/")
    ctx = response.context
    assert ctx["counts"] == {"new": 3, "open": 0, "pending": 0, "resolved": 1, "closed": 0}
    assert ctx["totals"] == {"mine": 1, "unassigned": 2, "overdue": 1, "due_soon": 1}
    assert [t.subject for t in ctx["mine"]] == ["Mine"]
    assert [t.subject for t in ctx["overdue"]] == ["Late one"]
    assert [t.subject for t in ctx["due_soon"]] == ["Soon one"]
    assert "Done" not in [t.subject for t in ctx["unassigned"]]
    feed = [(a.verb, a.ticket.subject) for a in ctx["activity"]]
    assert feed[0] == ("status", "Done")
    assert ("assigned", "Mine") in feed


def test_the_root_url_leads_to_the_dashboard(agent_client):
    response = agent_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_the_query_count_does_not_grow_with_the_number_of_tickets(
    agent_client, agent, queue_a, django_assert_max_num_queries
):
    for i in range(3):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"t{i}")
    agent_client.get("/dashboard/")
    with django_assert_max_num_queries(15) as few:  # + the saved views in the navigation
        agent_client.get("/dashboard/")
    baseline = len(few.captured_queries)  # read now: each request resets the query log
    for i in range(30):
        t = services.ticket_create(actor=agent, queue=queue_a, subject=f"more {i}")
        services.ticket_assign(actor=agent, ticket=t, assignee=agent)
    with django_assert_max_num_queries(baseline):
        agent_client.get("/dashboard/")
    with django_assert_max_num_queries(16) as listing:  # + bulk form choices, saved views
        agent_client.get("/tickets/")
    baseline = len(listing.captured_queries)
    for i in range(30):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"even more {i}")
    with django_assert_max_num_queries(baseline):
        agent_client.get("/tickets/")


def test_the_activity_feed_says_nothing_of_a_ticket_once_it_left_the_agents_queues(
    agent_client, manager, ticket_a, queue_b
):
    services.ticket_change_queue(actor=manager, ticket=ticket_a, queue=queue_b)
    services.ticket_change_subject(actor=manager, ticket=ticket_a, subject="Merger with Initech")
    page = agent_client.get("/dashboard/").content.decode()
    assert "Merger with Initech" not in page
    assert ticket_a.reference not in page
    feed = agent_client.get("/live/dashboard.json").json()["activity"]
    assert feed == []


def test_every_tile_and_all_link_opens_exactly_the_tickets_it_counts(agent_client, agent, queue_a):
    import re

    for i in range(4):
        t = services.ticket_create(actor=agent, queue=queue_a, subject=f"n{i}")
        if i < 2:
            services.ticket_assign(actor=agent, ticket=t, assignee=agent)
    late = services.ticket_create(actor=agent, queue=queue_a, subject="Late")
    Ticket.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    soon = services.ticket_create(actor=agent, queue=queue_a, subject="Soon")
    Ticket.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(minutes=20))
    done = services.ticket_create(actor=agent, queue=queue_a, subject="Done")
    services.ticket_change_status(actor=agent, ticket=done, status="resolved")
    # many (more than the panels show) so that every "All N" link is there
    response = agent_client.get("/dashboard/")
    ctx = response.context
    html = response.content.decode()
    expected = {
        **{f"status-{s}": n for s, n in ctx["counts"].items()},
        "overdue": ctx["totals"]["overdue"],
    }
    tiles = re.findall(
        r'<a class="stat [^"]*" href="([^"]+)"><span class="n" data-count="([^"]+)"', html
    )
    assert len(tiles) == 6
    for url, name in tiles:
        listed = agent_client.get(url.replace("&amp;", "&")).context["page"].paginator.count
        assert listed == expected[name], (url, name)
    links = re.findall(
        r'data-panel="([^"]+)".*?<p class="more"[^>]*><a href="([^"]+)">', html, re.S
    )
    assert {name for name, _ in links} == {"mine", "unassigned", "overdue", "due_soon"}
    for name, url in links:
        listed = agent_client.get(url.replace("&amp;", "&")).context["page"].paginator.count
        assert listed == ctx["totals"][name], (url, name)
