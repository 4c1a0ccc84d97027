"""The ticket list: search, filters, sorting and paging, all kept in the URL."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tickets import services
from tickets.models import Priority, Ticket

pytestmark = pytest.mark.django_db


def _refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].object_list]


@pytest.fixture
def three(agent, queue_a):
    make = lambda subject, **kw: services.ticket_create(  # noqa: E731
        actor=agent, queue=queue_a, subject=subject, **kw
    )
    low = make("Keyboard sticky", priority=Priority.LOW)
    urgent = make("Server down", priority=Priority.URGENT)
    mine = make("VPN flaky")
    services.ticket_assign(actor=agent, ticket=mine, assignee=agent)
    return low, urgent, Ticket.objects.get(pk=mine.pk)


def test_it_searches_subjects_case_insensitively(agent_client, three):
    assert _refs(agent_client.get("/tickets/", {"q": "server"})) == [three[1].reference]


def test_it_finds_a_ticket_by_reference_or_number(agent_client, three):
    low = three[0]
    assert _refs(agent_client.get("/tickets/", {"q": low.reference})) == [low.reference]
    assert _refs(agent_client.get("/tickets/", {"q": low.reference.lower()})) == [low.reference]
    assert _refs(agent_client.get("/tickets/", {"q": str(low.pk)})) == [low.reference]


def test_it_filters_by_assignee_me_and_unassigned(agent_client, three):
    assert _refs(agent_client.get("/tickets/", {"assignee": "me"})) == [three[2].reference]
    unassigned = _refs(agent_client.get("/tickets/", {"assignee": "unassigned"}))
    assert sorted(unassigned) == sorted([three[0].reference, three[1].reference])


def test_it_filters_by_a_person(agent_client, agent, three):
    assert _refs(agent_client.get("/tickets/", {"assignee": agent.pk})) == [three[2].reference]


def test_it_filters_by_priority_status_and_queue(agent_client, agent, queue_a, three):
    assert _refs(agent_client.get("/tickets/", {"priority": 4})) == [three[1].reference]
    services.ticket_change_status(actor=agent, ticket=three[0], status="open")
    assert _refs(agent_client.get("/tickets/", {"status": "open"})) == [three[0].reference]
    assert len(_refs(agent_client.get("/tickets/", {"status": "active", "queue": queue_a.pk}))) == 3


def test_it_sorts_by_priority(agent_client, three):
    refs = _refs(agent_client.get("/tickets/", {"sort": "priority"}))
    assert refs[0] == three[1].reference and refs[-1] == three[0].reference


def test_it_pages_fifty_at_a_time_and_keeps_filters_in_the_links(agent_client, agent, queue_a):
    for i in range(51):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Bulk {i}")
    first = agent_client.get("/tickets/", {"q": "bulk", "sort": "oldest"})
    assert len(_refs(first)) == 50
    html = first.content.decode()
    assert "q=bulk&amp;sort=oldest&amp;page=2" in html
    second = agent_client.get("/tickets/", {"q": "bulk", "sort": "oldest", "page": 2})
    assert [t.subject for t in second.context["page"].object_list] == ["Bulk 50"]


def test_the_assignee_filter_offers_only_people_who_work_the_agents_queues(agent_client, agent_b):
    make_user("carol", "agent")  # works no queue of alice's
    choices = dict(agent_client.get("/tickets/").context["form"].fields["assignee"].choices)
    assert "bob" not in choices.values()
    assert "carol" not in choices.values()
    assert "alice" in choices.values()
