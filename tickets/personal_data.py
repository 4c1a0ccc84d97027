"""GDPR export: everything held about a contact, decrypted, as one JSON document (for the
exportperson command and the admin site's export action), with an ``exported`` security event
per contact. Erasure and the retention purge are services: tickets/services/retention.py.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import record_event
from tickets.models import Attachment, Contact, InboundMessage
from ticketsystem.crypto import is_undecryptable

EXPORT_FORMAT = "ticketsystem-person-export/1"


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
        "mail": [_inbound_data(m, include_files) for m in _inbound_messages(contact)],
    }


def _inbound_messages(contact: Contact) -> list[InboundMessage]:
    """Mail from this contact: linked to them, or (quarantined) from their address."""
    query = InboundMessage.objects.filter(contact=contact)
    if contact.erased_at is None and contact.email:
        query = query | InboundMessage.objects.filter(
            sender_index=InboundMessage.sender_lookup(str(contact.email))
        )
    return list(query.distinct().order_by("pk"))


def _inbound_data(message: InboundMessage, include_files: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "received_at": _when(message.received_at),
        "status": message.status,
        "reason": message.reason,
        "ticket": message.ticket.reference if message.ticket_id else None,
        "subject": _text(message.subject),
        "size": message.size,
    }
    if include_files:
        raw = message.raw
        data["source_base64"] = (
            _text(raw) if is_undecryptable(raw) else base64.b64encode(bytes(raw)).decode()
        )
    return data


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
