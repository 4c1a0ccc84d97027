"""GDPR: export everything held about a contact, erase (anonymise) a contact in place, and
purge closed tickets past the retention period.

Anonymising keeps each row and its statistics (queue, status, priority, timestamps, who
worked it) and removes what identifies or describes the person: contact name, email, phone
and blind index; ticket subject, description, comment bodies and attachments. The model
history keeps that those fields changed (masked) and loses the plain subject values it held.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.events import record_event
from tickets import events
from tickets.models import Activity, Attachment, Comment, Contact, Status, Ticket
from ticketsystem.crypto import is_undecryptable

EXPORT_FORMAT = "ticketsystem-person-export/1"
PURGED_SUBJECT = "[purged]"


def find_contacts(email: str) -> list[Contact]:
    """Contacts holding this email address (exact match through the blind index)."""
    email = (email or "").strip()
    if not email:
        return []
    return list(Contact.objects.filter(email_index=Contact.email_lookup(email)).order_by("pk"))


def _text(value: Any) -> Any:
    """Plaintext for the export; a failed decryption is named, never hidden."""
    if is_undecryptable(value):
        return {"undecryptable": True, "reason": getattr(value, "reason", "")}
    return value


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _attachment_data(attachment: Attachment, include_files: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "filename": _text(attachment.filename),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "created_at": _when(attachment.created_at),
    }
    if include_files:
        content = attachment.content
        data["content_base64"] = (
            _text(content) if is_undecryptable(content) else base64.b64encode(content).decode()
        )
    return data


def contact_data(contact: Contact, *, include_files: bool = True) -> dict[str, Any]:
    """Everything held about one contact, decrypted."""
    tickets = []
    for ticket in contact.tickets.select_related("queue", "assignee").order_by("pk"):
        files = list(Attachment.objects.filter(ticket=ticket).order_by("pk"))
        tickets.append(
            {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "description": _text(ticket.description),
                "queue": ticket.queue.name,
                "status": ticket.status,
                "priority": ticket.get_priority_display(),
                "assignee": ticket.assignee.get_username() if ticket.assignee else None,
                "created_at": _when(ticket.created_at),
                "updated_at": _when(ticket.updated_at),
                "resolved_at": _when(ticket.resolved_at),
                "closed_at": _when(ticket.closed_at),
                "purged_at": _when(ticket.purged_at),
                "comments": [
                    {
                        "created_at": _when(comment.created_at),
                        "author": comment.author.get_username() if comment.author else None,
                        "internal": comment.is_internal,
                        "body": _text(comment.body),
                    }
                    for comment in ticket.comments.select_related("author").order_by("pk")
                ],
                "attachments": [_attachment_data(a, include_files) for a in files],
            }
        )
    return {
        "id": contact.pk,
        "uid": str(contact.uid),
        "name": _text(contact.name),
        "email": _text(contact.email),
        "phone": _text(contact.phone),
        "created_at": _when(contact.created_at),
        "erased_at": _when(contact.erased_at),
        "tickets": tickets,
    }


def _write_private(path: Path, payload: bytes) -> None:
    """Create ``path`` with mode 0600 (refusing to overwrite or follow a symlink)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(payload)
    finally:
        if fd != -1:
            os.close(fd)


def person_export_payload(
    *,
    actor: Any,
    contacts: list[Contact],
    include_files: bool = True,
    request: Any = None,
    username: str = "",
) -> bytes:
    """The export document as JSON bytes, with an ``exported`` security event per contact."""
    with transaction.atomic():
        data = {
            "format": EXPORT_FORMAT,
            "exported_at": timezone.now().isoformat(),
            "contacts": [contact_data(c, include_files=include_files) for c in contacts],
        }
        for contact, entry in zip(contacts, data["contacts"], strict=True):
            record_event(
                "exported",
                actor=actor,
                request=request,
                username=username,
                resource=f"contact:{contact.pk}",
                details={"tickets": len(entry["tickets"]), "files": include_files},
            )
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def person_export_to_file(
    *,
    actor: Any,
    contacts: list[Contact],
    path: Path,
    include_files: bool = True,
    username: str = "",
) -> int:
    """Write the export to a new 0600 file; the event is recorded only if the file is written."""
    with transaction.atomic():
        payload = person_export_payload(
            actor=actor, contacts=contacts, include_files=include_files, username=username
        )
        _write_private(path, payload)
    return len(payload)


# --- Erasure and purge ----------------------------------------------------------------------


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


def ticket_anonymise(*, actor: Any, ticket: Ticket, now: datetime | None = None) -> bool:
    """Remove a ticket's content, keeping its statistics. False if it was already purged."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.purged_at is not None:
        return False
    now = now or timezone.now()
    ticket.subject = PURGED_SUBJECT
    ticket.description = ""
    ticket.purged_at = now
    ticket.save(update_fields=["subject", "description", "purged_at"])
    for comment in Comment.objects.filter(ticket=ticket):
        comment.body = ""
        comment.save(update_fields=["body"])
    for attachment in Attachment.objects.filter(ticket=ticket):
        attachment.delete()  # one by one, so the model history records each deletion
    _scrub_subject_history(ticket)
    Activity(ticket=ticket, queue_id=ticket.queue_id, actor=actor, verb=Activity.Verb.PURGED).save(
        force_insert=True
    )
    events.ticket_changed(ticket, kind="updated", actor=actor)
    return True


@dataclass
class EraseResult:
    contact_id: int
    already_erased: bool
    tickets_anonymised: int = 0


def _erase_contact_row(contact: Contact, now: datetime) -> None:
    contact.name = ""
    contact.email = ""
    contact.phone = ""
    contact.erased_at = now
    contact.full_clean(validate_unique=False, validate_constraints=False)
    contact.save(update_fields=["name", "email", "email_index", "phone", "erased_at"])


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
    if include_tickets:
        for ticket in Ticket.objects.filter(contact=contact).order_by("pk"):
            result.tickets_anonymised += ticket_anonymise(actor=actor, ticket=ticket, now=now)
    if not result.already_erased or result.tickets_anonymised:
        record_event(
            "erased",
            actor=actor,
            request=request,
            username=username,
            resource=f"contact:{contact.pk}",
            details={"tickets_anonymised": result.tickets_anonymised, "reason": reason},
        )
    return result


def purge_candidates(*, older_than: timedelta, now: datetime | None = None) -> Any:
    """Closed, not yet purged tickets closed before now - older_than, oldest first."""
    cutoff = (now or timezone.now()) - older_than
    return (
        Ticket.objects.filter(status=Status.CLOSED, purged_at__isnull=True)
        .filter(Q(closed_at__lt=cutoff) | Q(closed_at__isnull=True, updated_at__lt=cutoff))
        .order_by("closed_at", "pk")
    )


def contacts_left_without_tickets(ticket_ids: list[int]) -> list[Contact]:
    """Contacts of these tickets, not erased, with no unpurged ticket outside them: what
    purging these tickets leaves without any reason to keep."""
    candidates = Contact.objects.filter(tickets__in=ticket_ids, erased_at__isnull=True).distinct()
    keep = (
        Ticket.objects.filter(contact__in=candidates.values("pk"), purged_at__isnull=True)
        .exclude(pk__in=ticket_ids)
        .values("contact_id")
    )
    return list(
        Contact.objects.filter(pk__in=candidates.values("pk")).exclude(pk__in=keep).order_by("pk")
    )


@dataclass
class PurgeReport:
    tickets: list[str] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)


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
                actor=actor,
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
    return report
