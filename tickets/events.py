"""Realtime events for the live dashboard, published only after the change commits.

One event per change, serialised once and fanned out by the channel layer to the group of
the ticket's queue. Events carry ids, counts-relevant fields and display text only: never
descriptions, comments or contact data.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from tickets.models import Ticket

logger = logging.getLogger(__name__)


def queue_group(queue_id: int) -> str:
    return f"queue_{queue_id}"


def ticket_payload(ticket: Ticket, *, kind: str, actor: Any) -> dict[str, Any]:
    """The event body: safe to show to anyone who may see the ticket's queue."""
    return {
        "kind": kind,
        "id": ticket.pk,
        "ref": ticket.reference,
        "subject": ticket.subject,
        "queue_id": ticket.queue_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee_id": ticket.assignee_id,
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "actor_id": getattr(actor, "pk", None),
        "actor": actor.get_username() if actor is not None else "",
        "at": timezone.now().isoformat(),
    }


def publish(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group in groups:
        try:
            send(group, message)
        except Exception:  # a broken channel layer must not fail a committed change
            logger.exception("could not publish %s to %s", message.get("type"), group)


def ticket_changed(ticket: Ticket, *, kind: str, actor: Any, old_queue_id: int | None = None) -> None:
    """Publish a ticket change to its queue's group (and the old queue's, after a move)."""
    payload = ticket_payload(ticket, kind=kind, actor=actor)
    groups = [queue_group(ticket.queue_id)]
    if old_queue_id is not None and old_queue_id != ticket.queue_id:
        groups.append(queue_group(old_queue_id))
    message = {"type": "ticket.changed", "event": payload}
    transaction.on_commit(lambda: publish(groups, message))
