"""The status workflow: new → open → pending → resolved → closed, reopen, closed is final."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import ValidationError

from tickets import services
from tickets.models import TRANSITIONS, Activity, Status, Ticket

pytestmark = pytest.mark.django_db

ALLOWED = {
    ("new", "open"),
    ("new", "pending"),
    ("new", "resolved"),
    ("open", "pending"),
    ("open", "resolved"),
    ("pending", "open"),
    ("pending", "resolved"),
    ("resolved", "open"),
    ("resolved", "closed"),
}
ALL_PAIRS = [(a, b) for a, b in itertools.product(Status.values, Status.values) if a != b]


def _ticket_in(status: str, ticket: Ticket) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()
    return ticket


def test_the_transition_table_is_exactly_the_documented_workflow():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED))
def test_allowed_transitions_succeed(agent, ticket_a, old, new):
    ticket = _ticket_in(old, ticket_a)
    changed = services.ticket_change_status(actor=agent, ticket=ticket, status=new)
    assert Ticket.objects.get(pk=ticket.pk).status == new
    assert changed.status == new
    activity = Activity.objects.filter(ticket=ticket, verb=Activity.Verb.STATUS).latest("id")
    assert activity.new_value == Status(new).label


@pytest.mark.parametrize(("old", "new"), sorted(set(ALL_PAIRS) - ALLOWED))
def test_forbidden_transitions_are_refused_and_change_nothing(agent, ticket_a, old, new):
    ticket = _ticket_in(old, ticket_a)
    updated_at = ticket.updated_at
    with pytest.raises(ValidationError) as excinfo:
        services.ticket_change_status(actor=agent, ticket=ticket, status=new)
    assert "status" in excinfo.value.message_dict
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.updated_at) == (old, updated_at)


def test_resolving_and_closing_stamp_the_times_and_reopening_clears_resolved(agent, ticket_a):
    ticket = services.ticket_change_status(actor=agent, ticket=ticket_a, status="resolved")
    assert ticket.resolved_at is not None
    ticket = services.ticket_change_status(actor=agent, ticket=ticket, status="open")
    assert ticket.resolved_at is None
    ticket = services.ticket_change_status(actor=agent, ticket=ticket, status="resolved")
    ticket = services.ticket_change_status(actor=agent, ticket=ticket, status="closed")
    assert ticket.closed_at is not None


def test_a_forbidden_transition_through_the_page_shows_an_error(agent_client, ticket_a):
    response = agent_client.post(
        f"/tickets/{ticket_a.reference}/status/", {"status": "closed", "confirm": "on"}
    )
    assert response.status_code == 400
    assert "A new ticket cannot become closed." in response.content.decode()
    assert Ticket.objects.get(pk=ticket_a.pk).status == "new"


def test_an_unknown_status_through_the_page_is_a_form_error(agent_client, ticket_a):
    response = agent_client.post(f"/tickets/{ticket_a.reference}/status/", {"status": "deleted"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_closed_ticket_takes_no_comments_and_no_reassignment(agent, ticket_a):
    ticket = _ticket_in("closed", ticket_a)
    with pytest.raises(ValidationError):
        services.comment_add(actor=agent, ticket=ticket, body="late")
    with pytest.raises(ValidationError):
        services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
    assert ticket.comments.count() == 0
