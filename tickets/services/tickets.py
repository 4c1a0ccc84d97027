"""Use cases on a ticket itself: open one, assign, change status, priority, queue, subject,
description or requester. Each is atomic, takes keyword-only ``actor``, writes its history
lines and hands its live event to ``on_commit``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.entries import entries_in_one_insert
from tickets import access, search
from tickets.actors import is_contact, is_system, staff_user
from tickets.labels import STATUS_LABELS
from tickets.live import events
from tickets.live.kinds import EventKind
from tickets.models import (
    TRANSITIONS,
    Activity,
    Contact,
    Priority,
    Queue,
    Status,
    Ticket,
    TicketBody,
)
from tickets.services.base import (
    apply_sla,
    display_user,
    lock,
    record,
    require_assignable,
    require_queue,
    save_ticket,
    validate,
)
from tickets.services.contacts import find_or_add_contact
from tickets.services.mail_out import mail_on_assigned, mail_on_status, mail_on_ticket_created
from ticketsystem.roles import is_staff_member


@transaction.atomic
def ticket_create(
    *,
    actor: Any,
    queue: Queue,
    subject: str,
    description: str = "",
    priority: int = Priority.NORMAL,
    contact: Contact | None = None,
    assignee: Any = None,
    is_automatic: bool = False,
) -> Ticket:
    """Open a ticket: by staff in a queue they work, by the system, or by a requester (who
    becomes its contact). ``is_automatic``: it came from an auto-reply (no acknowledgement)."""
    return open_ticket(
        actor=actor,
        queue=queue,
        subject=subject,
        description=description,
        priority=priority,
        contact=contact,
        assignee=assignee,
        is_automatic=is_automatic,
    )


def open_ticket(
    *,
    actor: Any,
    queue: Queue,
    subject: str,
    description: str = "",
    priority: int = Priority.NORMAL,
    contact: Contact | None = None,
    assignee: Any = None,
    is_automatic: bool = False,
) -> Ticket:
    """ticket_create's work, for a service that holds the transaction already (no savepoint)."""
    if is_contact(actor):
        contact = actor
    elif not is_system(actor) and not is_staff_member(actor):
        raise PermissionDenied(_("Only staff can create tickets."))
    require_queue(actor, queue)
    require_assignable(assignee, queue)
    now = timezone.now()
    ticket = Ticket(
        queue=queue,
        subject=subject.strip(),
        priority=priority,
        contact=contact,
        assignee=assignee,
        created_by=staff_user(actor),
        created_at=now,
        updated_at=now,
    )
    apply_sla(ticket, start=now)
    validate(ticket)
    body = TicketBody(description=description)  # the description's own table
    validate(body)
    with entries_in_one_insert():  # the two rows' audit entries: one INSERT
        ticket.save(force_insert=True)
        ticket.body = body  # sets body.ticket
        body.save(force_insert=True)
    lines = [record(ticket, actor, Activity.Verb.CREATED, new=ticket.subject)]
    if assignee is not None:
        lines.append(record(ticket, actor, Activity.Verb.ASSIGNED, new=display_user(assignee)))
    events.ticket_event(ticket, kind=EventKind.CREATED, actor=actor, was=None, activity=lines)
    mail_on_ticket_created(actor=actor, ticket=ticket, is_automatic=is_automatic)
    search.index_new_ticket(ticket, description=description)
    return ticket


@transaction.atomic
def ticket_create_for_requester(
    *,
    actor: Any,
    queue: Queue,
    subject: str,
    description: str = "",
    priority: int = Priority.NORMAL,
    contact_email: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Ticket:
    """The requester (found by email or created) and their ticket, together or not at all."""
    with entries_in_one_insert():  # a new requester's audit entry joins the ticket's
        contact = None
        if contact_email:
            contact = find_or_add_contact(
                actor=actor, email=contact_email, name=contact_name, phone=contact_phone
            )
        return open_ticket(
            actor=actor,
            queue=queue,
            subject=subject,
            description=description,
            priority=priority,
            contact=contact,
        )


@transaction.atomic
def ticket_assign(*, actor: Any, ticket: Ticket, assignee: Any) -> Ticket:
    ticket = lock(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"assignee": _("A closed ticket cannot be reassigned.")})
    require_assignable(assignee, ticket.queue)
    was = events.snapshot(ticket)
    old = display_user(ticket.assignee)
    ticket.assignee = assignee
    save_ticket(ticket, ["assignee"])
    line = record(ticket, actor, Activity.Verb.ASSIGNED, old=old, new=display_user(assignee))
    events.ticket_event(ticket, kind=EventKind.ASSIGNED, actor=actor, was=was, activity=[line])
    mail_on_assigned(actor=actor, ticket=ticket)
    return ticket


def apply_status(ticket: Ticket, status: str, actor: Any) -> tuple[list[str], Activity]:
    """Move a locked ticket to a new status with its timestamps (the caller saves it)."""
    now = timezone.now()
    old = ticket.get_status_display()
    fields = ["status"]
    if status == Status.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif ticket.status == Status.RESOLVED:  # reopened
        ticket.resolved_at = None
        fields.append("resolved_at")
    ticket.status = status
    line = record(ticket, actor, Activity.Verb.STATUS, old=old, new=ticket.get_status_display())
    return fields, line


@transaction.atomic
def ticket_change_status(*, actor: Any, ticket: Ticket, status: str) -> Ticket:
    ticket = lock(ticket)
    if status == ticket.status:
        return ticket
    if status not in Status.values:
        raise ValidationError({"status": _("Select a valid status.")})
    if status not in TRANSITIONS[ticket.status]:
        raise ValidationError(
            {
                "status": _("A %(old)s ticket cannot become %(new)s.")
                % {
                    "old": str(STATUS_LABELS[ticket.status]).lower(),
                    "new": str(STATUS_LABELS[status]).lower(),
                }
            }
        )
    was = events.snapshot(ticket)
    fields, line = apply_status(ticket, status, actor)
    save_ticket(ticket, fields)
    events.ticket_event(ticket, kind=EventKind.STATUS, actor=actor, was=was, activity=[line])
    mail_on_status(actor=actor, ticket=ticket)
    return ticket


@transaction.atomic
def ticket_change_priority(*, actor: Any, ticket: Ticket, priority: int) -> Ticket:
    ticket = lock(ticket)
    if priority == ticket.priority:
        return ticket
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Select a valid priority.")})
    was = events.snapshot(ticket)
    old = ticket.get_priority_display()
    ticket.priority = priority
    apply_sla(ticket)
    save_ticket(ticket, ["priority", "due_at", "response_due_at"])
    line = record(ticket, actor, Activity.Verb.PRIORITY, old=old, new=ticket.get_priority_display())
    events.ticket_event(ticket, kind=EventKind.PRIORITY, actor=actor, was=was, activity=[line])
    return ticket


@transaction.atomic
def ticket_change_queue(*, actor: Any, ticket: Ticket, queue: Queue) -> Ticket:
    ticket = lock(ticket)
    if queue.pk == ticket.queue_id:
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"queue": _("A closed ticket cannot be moved.")})
    require_queue(actor, queue)
    was = events.snapshot(ticket)
    old_queue = ticket.queue
    ticket.queue = queue
    fields = ["queue", "due_at", "response_due_at"]
    if ticket.assignee is not None and not access.is_assignable(ticket.assignee, queue):
        ticket.assignee = None  # the assignee may not see the new queue
        fields.append("assignee")
    apply_sla(ticket)
    save_ticket(ticket, fields)
    line = record(ticket, actor, Activity.Verb.QUEUE, old=old_queue.name, new=queue.name)
    events.ticket_event(
        ticket,
        kind=EventKind.QUEUE,
        actor=actor,
        was=was,
        activity=[line],
        old_queue_id=old_queue.pk,
    )
    return ticket


@transaction.atomic
def ticket_change_subject(*, actor: Any, ticket: Ticket, subject: str) -> Ticket:
    ticket = lock(ticket)
    subject = subject.strip()
    if subject == ticket.subject:
        return ticket
    was = events.snapshot(ticket)
    old = ticket.subject
    ticket.subject = subject
    save_ticket(ticket, ["subject"])
    line = record(ticket, actor, Activity.Verb.SUBJECT, old=old, new=subject)
    events.ticket_event(ticket, kind=EventKind.SUBJECT, actor=actor, was=was, activity=[line])
    search.index_ticket(ticket)
    return ticket


@transaction.atomic
def ticket_change_description(*, actor: Any, ticket: Ticket, description: str) -> Ticket:
    """Admin-only edit of the description (the model history records that it changed; no
    history line, which would have nothing to show but "changed")."""
    ticket = lock(ticket)
    was = events.snapshot(ticket)
    body = TicketBody.objects.filter(ticket=ticket).first() or TicketBody(ticket=ticket)
    body.description = description
    validate(body)
    body.save()
    save_ticket(ticket, [])
    ticket.body = body
    events.ticket_event(ticket, kind=EventKind.UPDATED, actor=actor, was=was)
    search.index_ticket(ticket)
    return ticket


@transaction.atomic
def ticket_set_contact(*, actor: Any, ticket: Ticket, contact: Contact | None) -> Ticket:
    """Change the requester (model history records it; the history lines hold no contact
    data, so there is no line for it)."""
    ticket = lock(ticket)
    if ticket.contact_id == (contact.pk if contact else None):
        return ticket
    was = events.snapshot(ticket)
    ticket.contact = contact
    save_ticket(ticket, ["contact"])
    events.ticket_event(ticket, kind=EventKind.UPDATED, actor=actor, was=was)
    search.index_ticket(ticket)
    return ticket


@transaction.atomic
def ticket_update(*, actor: Any, ticket: Ticket, **changes: Any) -> Ticket:
    """Apply several changes at once (the admin site's save) through the single services."""
    unknown = set(changes) - set(_UPDATERS)
    if unknown:
        raise ValueError(f"ticket_update cannot change {', '.join(sorted(unknown))}")
    for name, (service, argument) in _UPDATERS.items():
        if name in changes:
            ticket = service(actor=actor, ticket=ticket, **{argument: changes[name]})
    return ticket


# Field -> (service, its keyword), in the order ticket_update applies them.
_UPDATERS: dict[str, tuple[Any, str]] = {
    "subject": (ticket_change_subject, "subject"),
    "queue": (ticket_change_queue, "queue"),
    "priority": (ticket_change_priority, "priority"),
    "assignee": (ticket_assign, "assignee"),
    "status": (ticket_change_status, "status"),
    "description": (ticket_change_description, "description"),
    "contact": (ticket_set_contact, "contact"),
}
