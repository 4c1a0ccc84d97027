"""Retention and erasure (GDPR): anonymise a ticket, erase a contact in place, and purge
closed tickets past the retention period.

Anonymising keeps each row and its statistics (queue, status, priority, timestamps, who
worked it) and removes what identifies or describes the person: contact name, email, phone
and blind index; ticket subject, description, comment bodies and attachments. The model
history keeps that those fields changed (masked) and loses the plain subject values it held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.events import record_event
from tickets import search
from tickets.actors import staff_user
from tickets.live import events
from tickets.live.kinds import EventKind
from tickets.models import (
    Activity,
    Attachment,
    Comment,
    Contact,
    InboundMessage,
    Ticket,
    TicketBody,
)
from tickets.selectors import contacts_left_without_tickets, purge_candidates
from tickets.services.base import record
from tickets.services.mail_out import mail_scrub

PURGED_SUBJECT = "[purged]"


def _scrub_subject_history(ticket: Ticket) -> None:
    """Plain subjects live on in Activity rows and model history: replace them too."""
    Activity.objects.filter(
        ticket=ticket, verb__in=[Activity.Verb.CREATED, Activity.Verb.SUBJECT]
    ).update(old_value="", new_value="")
    ticket_type = ContentType.objects.get_for_model(Ticket)
    for entry in LogEntry.objects.filter(content_type=ticket_type, object_id=ticket.pk):
        changes = entry.changes if isinstance(entry.changes, dict) else None
        if changes and "subject" in changes:
            changes["subject"] = [PURGED_SUBJECT, PURGED_SUBJECT]
            # update(), not save(): saving would let auditlog re-stamp actor and address.
            LogEntry.objects.filter(pk=entry.pk).update(changes=changes)
    LogEntry.objects.filter(content_type=ticket_type, object_id=ticket.pk).update(
        object_repr=ticket.reference
    )


@transaction.atomic
def ticket_anonymise(*, actor: Any, ticket: Ticket, now: datetime | None = None) -> bool:
    """Remove a ticket's content, keeping its statistics. False if it was already purged."""
    ticket = Ticket.objects.select_for_update().select_related("queue").get(pk=ticket.pk)
    if ticket.purged_at is not None:
        return False
    was = events.snapshot(ticket)
    now = now or timezone.now()
    ticket.subject = PURGED_SUBJECT
    ticket.purged_at = now
    ticket.save(update_fields=["subject", "purged_at"])
    for body in TicketBody.objects.filter(ticket=ticket):
        body.description = ""
        body.save(update_fields=["description"])  # save(): the model history records it
    search.unindex_ticket(ticket)
    for comment in Comment.objects.filter(ticket=ticket):
        comment.body = ""
        comment.save(update_fields=["body"])
    for attachment in Attachment.objects.filter(ticket=ticket):
        attachment.delete()  # one by one, so the model history records each deletion
    mail_scrub(tickets=[ticket], contents=True)
    # The mail sources behind the ticket and its replies hold everything just removed.
    InboundMessage.objects.filter(Q(ticket=ticket) | Q(comment__ticket=ticket)).delete()
    _scrub_subject_history(ticket)
    line = record(ticket, actor, Activity.Verb.PURGED)
    events.ticket_event(ticket, kind=EventKind.UPDATED, actor=actor, was=was, activity=[line])
    return True


@dataclass
class EraseResult:
    contact_id: int
    already_erased: bool
    tickets_anonymised: int = 0


def _erase_contact_row(contact: Contact, now: datetime) -> None:
    # Their mail sources first, found by the address about to be erased too.
    mail = InboundMessage.objects.filter(contact=contact)
    if contact.email:
        mail = mail | InboundMessage.objects.filter(
            sender_index=InboundMessage.sender_lookup(str(contact.email))
        )
    mail.delete()
    contact.name = ""
    contact.email = ""
    contact.phone = ""
    contact.erased_at = now
    contact.full_clean(validate_unique=False, validate_constraints=False)
    contact.save(update_fields=["name", "email", "email_index", "phone", "erased_at"])
    search.index_contact_tickets(contact)


@transaction.atomic
def person_erase(
    *,
    actor: Any,
    contact: Contact,
    include_tickets: bool = False,
    request: Any = None,
    username: str = "",
    reason: str = "request",
) -> EraseResult:
    """Anonymise a contact in place (name, email, phone, blind index). Idempotent: an erased
    contact is left as it is (its tickets are still anonymised if asked and not yet done)."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    now = timezone.now()
    result = EraseResult(contact.pk, already_erased=contact.erased_at is not None)
    if not result.already_erased:
        _erase_contact_row(contact, now)
        mail_scrub(tickets=Ticket.objects.filter(contact=contact))
    if include_tickets:
        for ticket in Ticket.objects.filter(contact=contact).order_by("pk"):
            result.tickets_anonymised += ticket_anonymise(actor=actor, ticket=ticket, now=now)
    if not result.already_erased or result.tickets_anonymised:
        record_event(
            "erased",
            actor=staff_user(actor),
            request=request,
            username=username,
            resource=f"contact:{contact.pk}",
            details={"tickets_anonymised": result.tickets_anonymised, "reason": reason},
        )
    return result


@dataclass
class PurgeReport:
    tickets: list[str] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    mail: int = 0  # quarantined or ignored mail sources deleted


def tickets_purge(
    *,
    actor: Any,
    older_than: timedelta,
    batch_size: int = 100,
    username: str = "",
    now: datetime | None = None,
) -> PurgeReport:
    """Anonymise every purge candidate in batches (each batch one transaction, so an
    interrupted run loses nothing and the next run continues), then erase contacts left
    with only purged tickets."""
    report = PurgeReport()
    now = now or timezone.now()
    while True:
        with transaction.atomic():
            batch = list(purge_candidates(older_than=older_than, now=now)[:batch_size])
            if not batch:
                break
            contacts = contacts_left_without_tickets([t.pk for t in batch])
            for ticket in batch:
                ticket_anonymise(actor=actor, ticket=ticket, now=now)
            for contact in contacts:
                _erase_contact_row(contact, now)
            record_event(
                "purged",
                actor=staff_user(actor),
                username=username,
                resource=f"tickets:{batch[0].reference}..{batch[-1].reference}",
                details={
                    "tickets": len(batch),
                    "contacts_erased": len(contacts),
                    "older_than_days": older_than.days,
                },
            )
        report.tickets += [t.reference for t in batch]
        report.contacts += [c.pk for c in contacts]
    # Mail that never became part of a ticket (quarantined, reports) ages out the same way.
    stale = InboundMessage.objects.filter(ticket__isnull=True, received_at__lt=now - older_than)
    report.mail = stale.delete()[1].get(InboundMessage._meta.label, 0)
    return report
