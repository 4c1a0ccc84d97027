"""Every write to tickets, comments, attachments and contacts goes through here (queues and
their members are edited on the admin site, which tickets/live/membership.py follows; checking,
naming and reading files: tickets/attachments.py).

Each service is atomic, takes the acting user as keyword-only ``actor``, validates with
``full_clean()``, saves with ``update_fields``, writes an Activity row in the same
transaction and publishes a realtime event on commit (tickets/events.py). Business-rule
failures raise ValidationError (views show them next to the field) and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from tickets import access, events
from tickets.attachments import check_upload
from tickets.models import (
    TRANSITIONS,
    Activity,
    Attachment,
    Comment,
    Contact,
    Priority,
    Queue,
    Status,
    Ticket,
)
from ticketsystem.roles import is_manager, is_staff_member

# Foreign keys are resolved instances already; uids are random; check constraints are
# enforced by the database. Skipping them keeps validation free of extra queries.
_FK_FIELDS = ("queue", "contact", "assignee", "created_by", "ticket", "author", "actor")


def _validate(instance: Model) -> None:
    instance.full_clean(exclude=_FK_FIELDS, validate_unique=False, validate_constraints=False)


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent changes serialise."""
    return Ticket.objects.select_for_update().select_related("queue").get(pk=ticket.pk)


def _display_user(user: Any) -> str:
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
        actor=actor,
        verb=verb,
        old_value=old[:200],
        new_value=new[:200],
        created_at=at or timezone.now(),
    )


def _record(ticket: Ticket, actor: Any, verb: str, old: str = "", new: str = "") -> Activity:
    activity = activity_for(ticket, actor, verb, old, new)
    activity.save(force_insert=True)
    return activity


def apply_sla(ticket: Ticket, *, start: datetime | None = None) -> None:
    """Set the due dates from the queue's targets for the ticket's priority."""
    response, resolution = ticket.queue.sla_for(ticket.priority)
    start = start or ticket.created_at
    ticket.due_at = start + resolution
    ticket.response_due_at = None if ticket.first_response_at else start + response


def _require_visible_queue(actor: Any, queue: Queue, field: str = "queue") -> None:
    if not access.can_see_queue(actor, queue.pk):
        raise ValidationError({field: "Select a queue you are a member of."})


def _require_assignable(assignee: Any, queue: Queue) -> None:
    if assignee is not None and not access.is_assignable(assignee, queue):
        raise ValidationError({"assignee": f"{assignee} cannot take tickets of {queue}."})


def _save(ticket: Ticket, fields: Iterable[str]) -> None:
    ticket.updated_at = timezone.now()
    _validate(ticket)
    ticket.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def contact_get_or_create(*, actor: Any, email: str, name: str = "", phone: str = "") -> Contact:
    """Find a contact by email (through its blind index) or create one.

    Only a contact the actor may already see is reused: one with a ticket in the actor's
    queues, or with no ticket yet. Otherwise typing an email address would show an agent the
    name and phone number another queue holds about that person.
    """
    email = email.strip()
    existing = Contact.objects.filter(
        email_index=Contact.email_lookup(email), erased_at__isnull=True
    )
    queue_ids = access.visible_queue_ids(actor)
    if queue_ids is not None:
        existing = existing.filter(Q(tickets__queue_id__in=queue_ids) | Q(tickets__isnull=True))
    existing = existing.first()
    if existing is not None:
        return existing
    contact = Contact(email=email, name=name.strip(), phone=phone.strip())
    _validate(contact)
    contact.save(force_insert=True)
    return contact


@transaction.atomic
def contact_save(*, actor: Any, contact: Contact) -> Contact:
    """Save a contact added or corrected on the admin site (managers only), validated and
    with its email's blind index kept in step."""
    if not is_manager(actor):
        raise PermissionDenied("Only managers can edit contacts.")
    _validate(contact)
    if contact.pk is None:
        contact.save(force_insert=True)
    else:
        contact.save(update_fields=["name", "email", "email_index", "phone"])
    return contact


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
) -> Ticket:
    if not is_staff_member(actor):
        raise PermissionDenied("Only staff can create tickets.")
    _require_visible_queue(actor, queue)
    _require_assignable(assignee, queue)
    now = timezone.now()
    ticket = Ticket(
        queue=queue,
        subject=subject.strip(),
        description=description,
        priority=priority,
        contact=contact,
        assignee=assignee,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    apply_sla(ticket, start=now)
    _validate(ticket)
    ticket.save(force_insert=True)
    _record(ticket, actor, Activity.Verb.CREATED, new=ticket.subject)
    if assignee is not None:
        _record(ticket, actor, Activity.Verb.ASSIGNED, new=_display_user(assignee))
    events.ticket_changed(ticket, kind="created", actor=actor)
    return ticket


@transaction.atomic
def ticket_assign(*, actor: Any, ticket: Ticket, assignee: Any) -> Ticket:
    ticket = _lock(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"assignee": "A closed ticket cannot be reassigned."})
    _require_assignable(assignee, ticket.queue)
    old = _display_user(ticket.assignee)
    ticket.assignee = assignee
    _save(ticket, ["assignee"])
    _record(ticket, actor, Activity.Verb.ASSIGNED, old=old, new=_display_user(assignee))
    events.ticket_changed(ticket, kind="assigned", actor=actor)
    return ticket


@transaction.atomic
def ticket_change_status(*, actor: Any, ticket: Ticket, status: str) -> Ticket:
    ticket = _lock(ticket)
    if status == ticket.status:
        return ticket
    if status not in Status.values:
        raise ValidationError({"status": "Select a valid status."})
    if status not in TRANSITIONS[ticket.status]:
        raise ValidationError(
            {
                "status": f"A {ticket.get_status_display().lower()} ticket cannot become "
                f"{Status(status).label.lower()}."
            }
        )
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
    _save(ticket, fields)
    _record(ticket, actor, Activity.Verb.STATUS, old=old, new=ticket.get_status_display())
    events.ticket_changed(ticket, kind="status", actor=actor)
    return ticket


@transaction.atomic
def ticket_change_priority(*, actor: Any, ticket: Ticket, priority: int) -> Ticket:
    ticket = _lock(ticket)
    if priority == ticket.priority:
        return ticket
    if priority not in Priority.values:
        raise ValidationError({"priority": "Select a valid priority."})
    old = ticket.get_priority_display()
    ticket.priority = priority
    apply_sla(ticket)
    _save(ticket, ["priority", "due_at", "response_due_at"])
    _record(ticket, actor, Activity.Verb.PRIORITY, old=old, new=ticket.get_priority_display())
    events.ticket_changed(ticket, kind="priority", actor=actor)
    return ticket


@transaction.atomic
def ticket_change_queue(*, actor: Any, ticket: Ticket, queue: Queue) -> Ticket:
    ticket = _lock(ticket)
    if queue.pk == ticket.queue_id:
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"queue": "A closed ticket cannot be moved."})
    _require_visible_queue(actor, queue)
    old_queue = ticket.queue
    ticket.queue = queue
    fields = ["queue", "due_at", "response_due_at"]
    if ticket.assignee is not None and not access.is_assignable(ticket.assignee, queue):
        ticket.assignee = None  # the assignee may not see the new queue
        fields.append("assignee")
    apply_sla(ticket)
    _save(ticket, fields)
    _record(ticket, actor, Activity.Verb.QUEUE, old=old_queue.name, new=queue.name)
    events.ticket_changed(ticket, kind="queue", actor=actor, old_queue_id=old_queue.pk)
    return ticket


@transaction.atomic
def ticket_change_subject(*, actor: Any, ticket: Ticket, subject: str) -> Ticket:
    ticket = _lock(ticket)
    subject = subject.strip()
    if subject == ticket.subject:
        return ticket
    old = ticket.subject
    ticket.subject = subject
    _save(ticket, ["subject"])
    _record(ticket, actor, Activity.Verb.SUBJECT, old=old, new=subject)
    events.ticket_changed(ticket, kind="subject", actor=actor)
    return ticket


@transaction.atomic
def ticket_change_description(*, actor: Any, ticket: Ticket, description: str) -> Ticket:
    """Admin-only edit of the description (the model history records that it changed)."""
    ticket = _lock(ticket)
    ticket.description = description
    _save(ticket, ["description"])
    events.ticket_changed(ticket, kind="updated", actor=actor)
    return ticket


@transaction.atomic
def ticket_set_contact(*, actor: Any, ticket: Ticket, contact: Contact | None) -> Ticket:
    ticket = _lock(ticket)
    if ticket.contact_id == (contact.pk if contact else None):
        return ticket
    ticket.contact = contact
    _save(ticket, ["contact"])
    events.ticket_changed(ticket, kind="updated", actor=actor)
    return ticket


@transaction.atomic
def comment_add(*, actor: Any, ticket: Ticket, body: str, is_internal: bool = False) -> Comment:
    """Add a public reply or internal note. A first public reply marks the first response
    and moves a new ticket to open."""
    ticket = _lock(ticket)
    if ticket.status == Status.CLOSED:
        raise ValidationError({"body": "This ticket is closed; open a new ticket instead."})
    if not body.strip():
        raise ValidationError({"body": "Write something first."})
    comment = Comment(ticket=ticket, author=actor, body=body, is_internal=is_internal)
    _validate(comment)
    comment.save(force_insert=True)
    fields: list[str] = []
    if not is_internal and ticket.first_response_at is None:
        ticket.first_response_at = comment.created_at
        ticket.response_due_at = None
        fields += ["first_response_at", "response_due_at"]
    if not is_internal and ticket.status == Status.NEW:
        ticket.status = Status.OPEN
        fields.append("status")
        _record(ticket, actor, Activity.Verb.STATUS, old="New", new="Open")
    _save(ticket, fields)
    verb = Activity.Verb.NOTED if is_internal else Activity.Verb.COMMENTED
    _record(ticket, actor, verb)
    events.ticket_changed(ticket, kind="commented", actor=actor)
    return comment


@transaction.atomic
def ticket_update(*, actor: Any, ticket: Ticket, **changes: Any) -> Ticket:
    """Apply several changes at once (the admin site's save) through the single services."""
    appliers = {
        "subject": lambda t, v: ticket_change_subject(actor=actor, ticket=t, subject=v),
        "queue": lambda t, v: ticket_change_queue(actor=actor, ticket=t, queue=v),
        "priority": lambda t, v: ticket_change_priority(actor=actor, ticket=t, priority=v),
        "assignee": lambda t, v: ticket_assign(actor=actor, ticket=t, assignee=v),
        "status": lambda t, v: ticket_change_status(actor=actor, ticket=t, status=v),
        "description": lambda t, v: ticket_change_description(actor=actor, ticket=t, description=v),
    }
    unknown = set(changes) - set(appliers)
    if unknown:
        raise ValueError(f"ticket_update cannot change {', '.join(sorted(unknown))}")
    for name, applier in appliers.items():
        if name in changes:
            ticket = applier(ticket, changes[name])
    return ticket


@transaction.atomic
def attachment_add(
    *, actor: Any, ticket: Ticket, upload: Any, comment: Comment | None = None
) -> Attachment:
    """Store an uploaded file on a ticket (and optionally one of its comments), encrypted."""
    ticket = _lock(ticket)
    if not access.can_see_ticket(actor, ticket):
        raise PermissionDenied("No such ticket.")
    if ticket.status == Status.CLOSED:
        raise ValidationError({"file": "This ticket is closed; files can no longer be attached."})
    if comment is not None and comment.ticket_id != ticket.pk:
        raise ValidationError({"file": "That comment belongs to another ticket."})
    checked = check_upload(upload)
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        uploaded_by=actor,
        filename=checked.filename,
        content_type=checked.content_type,
        size=len(checked.data),
        content=checked.data,
    )
    attachment.full_clean(exclude=["ticket", "comment", "uploaded_by"], validate_unique=False)
    attachment.save(force_insert=True)
    _record(ticket, actor, Activity.Verb.ATTACHED)
    _save(ticket, [])
    events.ticket_changed(ticket, kind="attached", actor=actor)
    return attachment
