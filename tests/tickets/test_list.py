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


def test_it_lists_active_tickets_unless_any_status_is_chosen(agent_client, agent, three):
    services.ticket_change_status(actor=agent, ticket=three[0], status="resolved")
    services.ticket_change_status(actor=agent, ticket=three[0], status="closed")
    default = _refs(agent_client.get("/tickets/"))
    assert three[0].reference not in default and len(default) == 2
    assert len(_refs(agent_client.get("/tickets/", {"status": "any"}))) == 3
    html = agent_client.get("/tickets/").content.decode()
    assert '<option value="active" selected>Active</option>' in html


def test_due_soonest_puts_tickets_without_a_due_date_and_closed_ones_last(
    agent_client, agent, three
):
    low, urgent, mine = three
    Ticket.objects.filter(pk=urgent.pk).update(due_at=None)
    services.ticket_change_status(actor=agent, ticket=low, status="resolved")
    refs = _refs(agent_client.get("/tickets/", {"sort": "due", "status": "any"}))
    assert refs[0] == mine.reference
    assert set(refs[1:]) == {low.reference, urgent.reference}
    reversed_refs = _refs(agent_client.get("/tickets/", {"sort": "-due", "status": "any"}))
    assert reversed_refs[0] == mine.reference


def test_column_headers_sort_and_keep_the_filters_in_the_link(agent_client, three):
    response = agent_client.get("/tickets/", {"q": "e", "sort": "subject"})
    refs = _refs(response)
    subjects = [Ticket.objects.get(pk=Ticket.pk_from_reference(r)).subject for r in refs]
    assert subjects == sorted(subjects)
    html = response.content.decode()
    assert 'aria-sort="ascending"><a href="?q=e&amp;sort=-subject">Subject' in html
    assert '<a href="?q=e&amp;sort=priority">Priority</a>' in html
    back = _refs(agent_client.get("/tickets/", {"q": "e", "sort": "-subject"}))
    assert back == list(reversed(refs))


def test_an_unknown_sort_is_a_clear_400(agent_client, three):
    response = agent_client.get("/tickets/", {"sort": "-nope"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_rows_show_the_requester_and_the_assignees_full_name(
    agent_client, agent, queue_a, django_assert_max_num_queries
):
    agent.first_name, agent.last_name = "Alice", "Agent"
    agent.save(update_fields=["first_name", "last_name"])
    for i in range(5):
        t = services.ticket_create_for_requester(
            actor=agent,
            queue=queue_a,
            subject=f"From a person {i}",
            contact_email=f"p{i}@example.org",
            contact_name=f"Petra {i}",
        )
        services.ticket_assign(actor=agent, ticket=t, assignee=agent)
    html = agent_client.get("/tickets/").content.decode()
    assert 'data-label="Requester">Petra 3</td>' in html
    assert 'data-label="Assignee">Alice Agent</td>' in html
    with django_assert_max_num_queries(16) as few:
        agent_client.get("/tickets/")
    baseline = len(few.captured_queries)
    for i in range(5, 10):
        services.ticket_create_for_requester(
            actor=agent, queue=queue_a, subject=f"More {i}", contact_email=f"p{i}@example.org"
        )
    with django_assert_max_num_queries(baseline):  # the names come with the page's rows
        agent_client.get("/tickets/")


def test_it_filters_by_due_window(agent_client, three):
    from datetime import timedelta

    from django.utils import timezone

    low, urgent, mine = three
    Ticket.objects.filter(pk=low.pk).update(due_at=timezone.now() - timedelta(hours=1))
    Ticket.objects.filter(pk=urgent.pk).update(due_at=timezone.now() + timedelta(minutes=10))
    Ticket.objects.filter(pk=mine.pk).update(due_at=timezone.now() + timedelta(days=2))
    assert _refs(agent_client.get("/tickets/", {"due": "overdue"})) == [low.reference]
    assert _refs(agent_client.get("/tickets/", {"due": "soon"})) == [urgent.reference]


def test_the_filter_form_submits_itself_on_change_with_the_page_script(agent_client, three):
    html = agent_client.get("/tickets/").content.decode()
    assert "data-autosubmit" in html and '<button type="submit" data-apply>Apply</button>' in html
    assert "js/ticket-list.js" in html
