"""Use cases on the conversation: a reply or internal note, with its files.

Who writes decides the rules: a staff member's first public reply is the first response
(it stops the response clock and opens a new ticket); a requester's reply never is, and it
reopens a pending or resolved ticket; the system's messages are neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets import access, search
from tickets.actors import is_contact, is_system, staff_user
from tickets.live import events
from tickets.live.kinds import EventKind
from tickets.models import Activity, Comment, Status, Ticket
from tickets.services.agent import notify_mentions
from tickets.services.attachments import attachment_add
from tickets.services.base import lock, record, save_ticket, validate
from tickets.services.mail_out import mail_on_comment
from tickets.services.tickets import apply_status, ticket_change_priority, ticket_change_status

# A requester's reply brings these back to the agents' attention.
REOPENED_BY_REQUESTER = (Status.PENDING, Status.RESOLVED)


def _require_may_write(actor: Any, ticket: Ticket, is_internal: bool) -> None:
    if is_contact(actor):
        if not access.is_participant(actor, ticket):
            raise PermissionDenied(_("Only the ticket's requester or CC contacts can reply to it."))
        if is_internal:
            raise PermissionDenied(_("A requester cannot write internal notes."))


@transaction.atomic
def comment_add(
    *,
    actor: Any,
    ticket: Ticket,
    body: str,
    is_internal: bool = False,
    files: Iterable[Any] = (),
) -> Comment:
    """Add a public reply or internal note, and its files: all of it or nothing."""
    ticket = lock(ticket)
    _require_may_write(actor, ticket, is_internal)
    if ticket.status == Status.CLOSED:
        raise ValidationError({"body": _("This ticket is closed; open a new ticket instead.")})
    if not body.strip():
        raise ValidationError({"body": _("Write something first.")})
    was = events.snapshot(ticket)
    comment = Comment(
        ticket=ticket,
        author=staff_user(actor),
        author_contact=actor if is_contact(actor) else None,
        body=body,
        is_internal=is_internal,
    )
    validate(comment)
    comment.save(force_insert=True)
    search.index_comment(comment)
    fields: list[str] = []
    lines: list[Activity] = []
    by_staff = not is_contact(actor) and not is_system(actor)
    if by_staff and not is_internal:
        if ticket.first_response_at is None:
            ticket.first_response_at = comment.created_at
            ticket.response_due_at = None
            fields += ["first_response_at", "response_due_at"]
        if ticket.status == Status.NEW:
            status_fields, line = apply_status(ticket, Status.OPEN, actor)
            fields += status_fields
            lines.append(line)
    if is_contact(actor) and ticket.status in REOPENED_BY_REQUESTER:
        status_fields, line = apply_status(ticket, Status.OPEN, actor)
        fields += status_fields
        lines.append(line)
    save_ticket(ticket, fields)
    verb = Activity.Verb.NOTED if is_internal else Activity.Verb.COMMENTED
    lines.append(record(ticket, actor, verb))
    events.ticket_event(ticket, kind=EventKind.COMMENTED, actor=actor, was=was, activity=lines)
    for upload in files:
        attachment_add(actor=actor, ticket=ticket, upload=upload, comment=comment)
    mail_on_comment(actor=actor, ticket=ticket, comment=comment)
    notify_mentions(actor=actor, ticket=ticket, comment=comment)
    return comment


# What a reply may also do to the ticket in the same step (Close is final: never here).
REPLY_STATUSES = (Status.PENDING, Status.RESOLVED)


@transaction.atomic
def reply_and_set_status(
    *,
    actor: Any,
    ticket: Ticket,
    body: str,
    is_internal: bool = False,
    files: Iterable[Any] = (),
    status: str = "",
    priority: int | None = None,
) -> Comment:
    """A reply or note and, with it, a new status and/or priority: all of it or nothing
    ("Send and resolve", "Send and set pending", a canned response's settings)."""
    if status and status not in REPLY_STATUSES:
        raise ValidationError({"status": _("A reply can set the ticket pending or resolved only.")})
    comment = comment_add(
        actor=actor, ticket=ticket, body=body, is_internal=is_internal, files=files
    )
    if priority is not None:
        ticket_change_priority(actor=actor, ticket=ticket, priority=priority)
    if status:
        ticket_change_status(actor=actor, ticket=ticket, status=status)
    return comment
