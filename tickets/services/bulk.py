"""One change to many tickets (the list's bulk actions): each ticket is looked up through
tickets/access.py and changed by the single-ticket service in a transaction of its own, so a
ticket is changed completely or not at all, and one refusal does not undo the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from tickets import access
from tickets.models import Ticket
from tickets.services.tags import ticket_add_tag
from tickets.services.tickets import (
    ticket_assign,
    ticket_change_priority,
    ticket_change_queue,
    ticket_change_status,
)

NOT_ALLOWED = "not allowed"

# action -> the single-ticket change it makes with the action's value
_CHANGES: dict[str, Callable[[Any, Ticket, Any], Any]] = {
    "assign": lambda actor, t, v: ticket_assign(actor=actor, ticket=t, assignee=v),
    "status": lambda actor, t, v: ticket_change_status(actor=actor, ticket=t, status=v),
    "priority": lambda actor, t, v: ticket_change_priority(actor=actor, ticket=t, priority=v),
    "queue": lambda actor, t, v: ticket_change_queue(actor=actor, ticket=t, queue=v),
    "tag": lambda actor, t, v: ticket_add_tag(actor=actor, ticket=t, tag=v),
}
BULK_ACTIONS = tuple(_CHANGES)


@dataclass
class BulkOutcome:
    changed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)

    def summary(self) -> str:
        """ "18 changed, 2 not allowed: T-000007, T-000009 (why, where it is a rule)." """
        text = _("%(n)d changed") % {"n": len(self.changed)}
        if self.refused:
            refs = ", ".join(
                ref if why == NOT_ALLOWED else f"{ref} ({why})" for ref, why in sorted(self.refused)
            )
            text += ", " + _("%(n)d not allowed: %(refs)s") % {"n": len(self.refused), "refs": refs}
        return text + "."


def tickets_bulk_change(
    *, actor: Any, references: Iterable[str], action: str, value: Any
) -> BulkOutcome:
    """Apply one action to each ticket the actor may change; report the others by reference."""
    change = _CHANGES[action]
    outcome = BulkOutcome()
    for reference in dict.fromkeys(references):
        try:
            ticket = access.get_ticket_or_404(actor, reference)
        except Http404:
            outcome.refused.append((reference, NOT_ALLOWED))
            continue
        try:
            with transaction.atomic():
                change(actor, ticket, value)
        except ValidationError as exc:
            outcome.refused.append((ticket.reference, " ".join(exc.messages)))
        else:
            outcome.changed.append(ticket.reference)
    return outcome
