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


def user_group(user_id: int) -> str:
    return f"user_{user_id}"


def session_group(session_key: str) -> str:
    """Group of the sockets opened under one login session (the key is hashed: group names
    travel through Redis and must not reveal session keys)."""
    import hashlib

    return "session_" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def disconnect_sessions(session_keys: list[str], *, reason: str) -> None:
    """Close the websockets of these sessions (logout, revocation, expiry) after commit."""
    groups = [session_group(key) for key in session_keys if key]
    message = {"type": "session.ended", "reason": reason}
    if groups:
        transaction.on_commit(lambda: publish(groups, message))


def disconnect_user(user_id: int, *, reason: str) -> None:
    """Close every websocket of a user (deactivation, 2FA reset) after commit."""
    message = {"type": "session.ended", "reason": reason}
    transaction.on_commit(lambda: publish([user_group(user_id)], message))


def queues_changed(user_ids: list[int]) -> None:
    """Tell the users' open sockets to re-read which queue groups they belong to."""
    groups = [user_group(user_id) for user_id in user_ids]
    message = {"type": "queues.changed"}
    if groups:
        transaction.on_commit(lambda: publish(groups, message))
