"""Agents see only their queues' tickets; everything else is a 404 (never a 403 that leaks)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tickets import access
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ACTIONS = [
    ("comment", {"body": "hello"}),
    ("assign", {"assignee": ""}),
    ("status", {"status": "open"}),
    ("priority", {"priority": "4"}),
    ("move", {"queue": "1"}),
]


def test_an_agent_gets_404_for_another_queues_ticket(agent_client, ticket_b):
    assert agent_client.get(f"/tickets/{ticket_b.reference}/").status_code == 404


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_every_action_on_a_foreign_ticket_is_404_and_changes_nothing(
    agent_client, ticket_b, action, data
):
    before = Ticket.objects.values().get(pk=ticket_b.pk)
    response = agent_client.post(f"/tickets/{ticket_b.reference}/{action}/", data)
    assert response.status_code == 404
    assert Ticket.objects.values().get(pk=ticket_b.pk) == before
    assert ticket_b.comments.count() == 0


def test_an_agent_never_sees_foreign_tickets_in_lists_or_search(agent_client, ticket_a, ticket_b):
    listing = agent_client.get("/tickets/").content.decode()
    assert ticket_a.subject in listing
    assert ticket_b.subject not in listing
    by_subject = agent_client.get("/tickets/", {"q": "Invoice"}).content.decode()
    assert ticket_b.reference not in by_subject
    by_reference = agent_client.get("/tickets/", {"q": ticket_b.reference}).content.decode()
    assert "0 tickets" in by_reference


def test_an_agent_cannot_filter_by_a_foreign_queue(agent_client, ticket_b, queue_b):
    response = agent_client.get("/tickets/", {"queue": queue_b.pk})
    assert response.status_code == 400
    assert "Select a queue you are a member of." in response.content.decode()


def test_dashboard_counts_only_visible_tickets(agent_client, ticket_a, ticket_b):
    response = agent_client.get("/dashboard/")
    assert response.context["counts"]["new"] == 1
    assert response.context["totals"]["unassigned"] == 1
    page = response.content.decode()
    assert ticket_b.subject not in page
    assert ticket_a.subject in page


def test_a_manager_sees_every_queue(manager_client, ticket_a, ticket_b):
    assert manager_client.get(f"/tickets/{ticket_b.reference}/").status_code == 200
    assert manager_client.get("/dashboard/").context["counts"]["new"] == 2
    listing = manager_client.get("/tickets/").content.decode()
    assert ticket_a.subject in listing and ticket_b.subject in listing


def test_a_user_without_a_role_is_forbidden(client, outsider, ticket_a):
    login(client, outsider)
    assert client.get("/dashboard/").status_code == 403
    assert client.get(f"/tickets/{ticket_a.reference}/").status_code == 403


def test_anonymous_users_are_sent_to_login(client, ticket_a):
    response = client.get(f"/tickets/{ticket_a.reference}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_inactive_agent_sees_nothing(agent, ticket_a):
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert not access.visible_tickets(agent).exists()


def test_joining_a_queue_makes_its_tickets_visible(client, agent, ticket_b, queue_b):
    queue_b.members.add(agent)
    login(client, agent)
    assert client.get(f"/tickets/{ticket_b.reference}/").status_code == 200
