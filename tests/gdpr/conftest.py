from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import PDF, upload
from tickets import services
from tickets.models import Ticket
from tickets.services import attachment_add


@pytest.fixture
def person(agent, queue_a):
    """A contact with two tickets, comments (one internal) and a file."""
    contact = services.contact_get_or_create(
        actor=agent, email="Erin@Example.org", name="Erin Example", phone="+44 20 7946 0000"
    )
    first = services.ticket_create(
        actor=agent,
        queue=queue_a,
        subject="Erin's laptop",
        description="Serial ABC, home address 1 Main St",
        contact=contact,
    )
    services.comment_add(actor=agent, ticket=first, body="Erin called at 9")
    services.comment_add(actor=agent, ticket=first, body="Internal: VIP", is_internal=True)
    attachment_add(actor=agent, ticket=first, upload=upload("erin-id.pdf", PDF))
    second = services.ticket_create(
        actor=agent, queue=queue_a, subject="Erin again", description="Second", contact=contact
    )
    return contact, first, second


def close(agent, ticket, days_ago: int) -> Ticket:
    services.ticket_change_status(actor=agent, ticket=ticket, status="resolved")
    services.ticket_change_status(actor=agent, ticket=ticket, status="closed")
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    return Ticket.objects.get(pk=ticket.pk)
