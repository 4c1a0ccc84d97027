"""What every ticket service shares: validation, the row lock, history lines, SLA dates and
the save that stamps ``updated_at``. Used only by the service modules beside it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import access
from tickets.actors import actor_name, is_contact, is_system, staff_user
from tickets.models import Activity, Queue, Ticket

# Foreign keys are resolved instances already; uids are random; check constraints are
# enforced by the database. Skipping them keeps validation free of extra queries.
FK_FIELDS = (
    "queue",
    "contact",
    "assignee",
    "created_by",
    "ticket",
    "author",
    "author_contact",
    "actor",
)


def validate(instance: Model) -> None:
    instance.full_clean(exclude=FK_FIELDS, validate_unique=False, validate_constraints=False)


def lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent changes serialise."""
    return Ticket.objects.select_for_update().select_related("queue").get(pk=ticket.pk)


def display_user(user: Any) -> str:
    return user.get_username() if user is not None else ""


def activity_for(
    ticket: Ticket,
    actor: Any,
    verb: str,
    old: str = "",
    new: str = "",
    *,
    at: datetime | None = None,
) -> Activity:
    """An unsaved history line (services save it at once; seeddemo bulk-inserts them)."""
    return Activity(
        ticket=ticket,
        queue_id=ticket.queue_id,
        actor=staff_user(actor),
        actor_name=actor_name(actor),
        verb=verb,
        old_value=old[:200],
        new_value=new[:200],
        created_at=at or timezone.now(),
    )


def record(ticket: Ticket, actor: Any, verb: str, old: str = "", new: str = "") -> Activity:
    activity = activity_for(ticket, actor, verb, old, new)
    activity.save(force_insert=True)
    return activity


def apply_sla(ticket: Ticket, *, start: datetime | None = None) -> None:
    """Set the due dates from the queue's targets for the ticket's priority."""
    response, resolution = ticket.queue.sla_for(ticket.priority)
    start = start or ticket.created_at
    ticket.due_at = start + resolution
    ticket.response_due_at = None if ticket.first_response_at else start + response


def require_queue(actor: Any, queue: Queue, field: str = "queue") -> None:
    """Staff act only in queues they may see; the system and requesters are routed there."""
    if is_system(actor) or is_contact(actor):
        return
    if not access.can_see_queue(actor, queue.pk):
        raise ValidationError({field: _("Select a queue you are a member of.")})


def require_assignable(assignee: Any, queue: Queue) -> None:
    if assignee is not None and not access.is_assignable(assignee, queue):
        raise ValidationError(
            {
                "assignee": _("%(who)s cannot take tickets of %(queue)s.")
                % {"who": assignee, "queue": queue}
            }
        )


def save_ticket(ticket: Ticket, fields: Iterable[str]) -> None:
    ticket.updated_at = timezone.now()
    validate(ticket)
    ticket.save(update_fields=[*fields, "updated_at"])
