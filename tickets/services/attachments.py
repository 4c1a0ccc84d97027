"""Use case: store a file on a ticket or one of its comments, encrypted (checking, naming and
reading files: tickets/attachments.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets import access, search
from tickets.actors import is_contact, is_system, staff_user
from tickets.attachments import check_upload
from tickets.live import events
from tickets.live.kinds import EventKind
from tickets.models import Activity, Attachment, Comment, Status, Ticket
from tickets.services.base import lock, record, save_ticket


def _may_attach(actor: Any, ticket: Ticket) -> bool:
    if is_system(actor):
        return True
    if is_contact(actor):
        return access.is_participant(actor, ticket)
    return access.can_see_ticket(actor, ticket)


@transaction.atomic
def attachment_add(
    *, actor: Any, ticket: Ticket, upload: Any, comment: Comment | None = None
) -> Attachment:
    """Store an uploaded file on a ticket (and optionally one of its comments), encrypted."""
    ticket = lock(ticket)
    if not _may_attach(actor, ticket):
        raise PermissionDenied(_("No such ticket."))
    if ticket.status == Status.CLOSED:
        raise ValidationError(
            {"file": _("This ticket is closed; files can no longer be attached.")}
        )
    if comment is not None and comment.ticket_id != ticket.pk:
        raise ValidationError({"file": _("That comment belongs to another ticket.")})
    checked = check_upload(upload)
    was = events.snapshot(ticket)
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        uploaded_by=staff_user(actor),
        filename=checked.filename,
        content_type=checked.content_type,
        size=len(checked.data),
        content=checked.data,
    )
    attachment.full_clean(exclude=["ticket", "comment", "uploaded_by"], validate_unique=False)
    attachment.save(force_insert=True)
    search.index_attachment(attachment)
    line = record(ticket, actor, Activity.Verb.ATTACHED)
    save_ticket(ticket, [])
    events.ticket_event(ticket, kind=EventKind.ATTACHED, actor=actor, was=was, activity=[line])
    return attachment
