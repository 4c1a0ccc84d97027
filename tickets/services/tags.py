"""Tags on a ticket: set them, or add one (the list's bulk action). Tags come from the
managed vocabulary (tickets.organising_models.Tag, kept by managers on the admin site)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tickets.live import events
from tickets.live.kinds import EventKind
from tickets.models import Activity, Ticket
from tickets.organising_models import Tag
from tickets.services.base import lock, record, save_ticket


def _names(tags: Iterable[Tag]) -> str:
    return ", ".join(sorted(tag.name for tag in tags))


@transaction.atomic
def ticket_set_tags(*, actor: Any, ticket: Ticket, tags: Iterable[Tag]) -> Ticket:
    """Give the ticket exactly these tags, with one history line naming before and after."""
    ticket = lock(ticket)
    wanted = {tag.pk: tag for tag in tags}
    current = {tag.pk: tag for tag in ticket.tags.all()}
    if wanted.keys() == current.keys():
        return ticket
    was = events.snapshot(ticket)
    ticket.tags.set(wanted.values())
    save_ticket(ticket, [])
    line = record(
        ticket,
        actor,
        Activity.Verb.TAGGED,
        old=_names(current.values()),
        new=_names(wanted.values()),
    )
    events.ticket_event(ticket, kind=EventKind.UPDATED, actor=actor, was=was, activity=[line])
    return ticket


@transaction.atomic
def ticket_add_tag(*, actor: Any, ticket: Ticket, tag: Tag) -> Ticket:
    """Add one tag (nothing happens if the ticket has it already)."""
    ticket = lock(ticket)
    current = list(ticket.tags.all())
    return ticket_set_tags(actor=actor, ticket=ticket, tags=[*current, tag])
