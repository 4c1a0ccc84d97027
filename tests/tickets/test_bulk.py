"""Bulk actions on the ticket list: each selected ticket checked and changed on its own."""

from __future__ import annotations

import pytest

from tickets import services
from tickets.models import Activity, Priority, Ticket
from tickets.organising_models import Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(agent, queue_a):
    return [
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Bulk {i}") for i in range(5)
    ]


def _post(client, tickets, **data):
    refs = [t if isinstance(t, str) else t.reference for t in tickets]
    return client.post("/tickets/bulk/", {"tickets": refs, **data}, follow=True)


def _message(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_it_assigns_every_selected_ticket(agent_client, agent, five):
    response = _post(agent_client, five, action="assign", assignee=agent.pk, query="sort=due")
    assert _message(response) == "5 changed."
    assert response.redirect_chain[-1][0] == "/tickets/?sort=due"
    assert Ticket.objects.filter(assignee=agent).count() == 5
    assert Activity.objects.filter(verb="assigned").count() == 5


def test_tickets_the_agent_may_not_touch_are_named_and_left_alone(
    agent_client, agent, five, ticket_b
):
    response = _post(
        agent_client, [*five, ticket_b, "T-999999"], action="assign", assignee=agent.pk
    )
    message = _message(response)
    assert message == f"5 changed, 2 not allowed: {ticket_b.reference}, T-999999."
    ticket_b.refresh_from_db()
    assert ticket_b.assignee_id is None


def test_a_rule_refusal_keeps_that_ticket_whole_and_says_why(agent_client, agent, five):
    closed = five[0]
    services.ticket_change_status(actor=agent, ticket=closed, status="resolved")
    services.ticket_change_status(actor=agent, ticket=closed, status="closed")
    response = _post(agent_client, five, action="status", status="open")
    message = _message(response)
    assert message.startswith(f"4 changed, 1 not allowed: {closed.reference} (A closed ticket")
    closed.refresh_from_db()
    assert closed.status == "closed"
    assert Ticket.objects.filter(status="open").count() == 4


def test_it_sets_priority_moves_queue_and_tags(agent_client, agent, five, queue_b):
    queue_b.members.add(agent)
    tag = Tag.objects.create(name="VIP", slug="vip")
    _post(agent_client, five[:2], action="priority", priority=Priority.URGENT)
    _post(agent_client, five[2:3], action="queue", queue=queue_b.pk)
    response = _post(agent_client, five, action="tag", tag="vip")
    assert _message(response) == "5 changed."
    assert Ticket.objects.filter(priority=Priority.URGENT).count() == 2
    assert Ticket.objects.get(pk=five[2].pk).queue == queue_b
    assert tag.tickets.count() == 5
    assert Activity.objects.filter(verb="tagged", new_value="VIP").count() == 5


def test_bad_bulk_input_gets_a_one_line_answer(agent_client, five):
    assert _message(_post(agent_client, [], action="assign")) == "Select at least one ticket."
    assert "not valid" in _message(_post(agent_client, ["x"], action="assign"))
    assert "Choose a value" in _message(_post(agent_client, five, action="status"))
    response = _post(agent_client, five, action="explode")
    assert response.status_code == 200 and "Select a valid choice" in _message(response)


def test_only_post_and_only_staff(client, agent_client, outsider, five):
    from tests.conftest import login

    assert agent_client.get("/tickets/bulk/").status_code == 405
    login(client, outsider)
    response = client.post("/tickets/bulk/", {"tickets": [five[0].reference], "action": "assign"})
    assert response.status_code == 403
