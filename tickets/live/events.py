"""Ticket events for the live pages, built by the service that causes them and published only
after the change commits.

One event per change, serialised once (the JSON text every socket sends as is) and fanned out
by the channel layer to the group of the ticket's queue and to the managers' group. Events
carry ids, codes and display text only: never descriptions, comments or contact data.

Besides the ticket as it is now, an event says what it was before the change (``was``: the
fields the dashboard counts by, snapshotted by the service right after it locked the row) and
the history lines the change wrote (``activity``), so a live page can adjust its counters and
feed without asking the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.actors import staff_user
from tickets.live.groups import ALL_QUEUES_GROUP, queue_group, ticket_group
from tickets.live.kinds import EventKind
from tickets.live.publish import publish, to_json
from tickets.models import Activity, Ticket, user_display

logger = logging.getLogger(__name__)

# The ticket fields a dashboard counts by; their values before a change travel as ``was``.
TRACKED_FIELDS = ("queue_id", "status", "priority", "assignee_id", "due_at")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """The tracked fields as they are now: a service takes this before it changes anything."""
    was = {name: getattr(ticket, name) for name in TRACKED_FIELDS}
    was["due_at"] = _iso(was["due_at"])
    return was


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """What a live page may show of a ticket: ids, codes and display text only.

    Used for events and for the resynchronisation endpoints, so both draw the same rows.
    Expects ``queue`` loaded (services lock with select_related); ``assignee`` costs one
    query per event when not loaded, never one per connected client.
    """
    return {
        "id": ticket.pk,
        "ref": ticket.reference,
        "url": ticket.get_absolute_url(),
        "subject": ticket.subject,
        "queue_id": ticket.queue_id,
        "queue": ticket.queue.name,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "priority": ticket.priority,
        "priority_label": ticket.get_priority_display(),
        "assignee_id": ticket.assignee_id,
        "assignee": user_display(ticket.assignee) if ticket.assignee_id else "",
        "due_at": _iso(ticket.due_at),
        "updated_at": _iso(ticket.updated_at),
    }


def activity_fields(activity: Activity) -> dict[str, Any]:
    """One history line as display text (the dashboard feed's entry)."""
    return {
        "verb": activity.verb,
        "verb_label": activity.get_verb_display(),
        "old": activity.old_value,
        "new": activity.new_value,
        "actor": activity.actor_display,
        "at": _iso(activity.created_at),
    }


def ticket_payload(
    ticket: Ticket,
    *,
    kind: EventKind,
    actor: Any,
    was: dict[str, Any] | None,
    activity: Iterable[Activity] = (),
) -> dict[str, Any]:
    """The event body: safe to show to anyone who may see the ticket's queue."""
    user = staff_user(actor)
    return {
        "kind": kind.value,
        **ticket_fields(ticket),
        "actor_id": getattr(user, "pk", None),
        "actor": user.get_username() if user is not None else "",
        "at": timezone.now().isoformat(),
        "was": None if kind == EventKind.CREATED else was,
        "activity": [activity_fields(a) for a in activity],
    }


def _publish_each(messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        publish([group], message)


def ticket_event(
    ticket: Ticket,
    *,
    kind: EventKind,
    actor: Any,
    was: dict[str, Any] | None,
    activity: Iterable[Activity] = (),
    old_queue_id: int | None = None,
) -> dict[str, Any]:
    """Build a ticket change's event now and publish it when the transaction commits.

    Goes to the ticket's queue group and the managers' group; after a move, the old queue's
    sockets get a ``ticket.moved_out`` message instead: those that cannot see the new queue
    drop the ticket without learning anything about it beyond its id. Returns the payload.
    """
    payload = ticket_payload(ticket, kind=kind, actor=actor, was=was, activity=activity)
    frame = to_json({"type": "ticket", **payload})
    groups = [queue_group(ticket.queue_id), ALL_QUEUES_GROUP]
    # Each message names its group: a process receives it once and routes it to its sockets.
    messages = [
        (group, {"type": "ticket.changed", "group": group, "event": payload, "frame": frame})
        for group in groups
    ]
    if old_queue_id is not None and old_queue_id != ticket.queue_id:
        gone = {"id": ticket.pk, "ref": ticket.reference, "was": payload["was"]}
        old_group = queue_group(old_queue_id)
        moved_out = {
            "type": "ticket.moved_out",
            "group": old_group,
            "event": {"id": ticket.pk, "queue_id": ticket.queue_id, "old_queue_id": old_queue_id},
            "frame": to_json({"type": "removed", **gone}),
        }
        messages.append((old_group, moved_out))
    transaction.on_commit(lambda: _publish_each(messages))
    return payload


def delivery_event(mail: Any) -> None:
    """On commit, tell the pages showing the ticket that a reply's mail changed state.

    Goes to the ticket's page group only (sockets that passed the access check to watch it);
    carries ids, the state and the server's one-line answer, never addresses or text.
    """
    frame = to_json(
        {
            "type": EventKind.DELIVERY.value,
            "ticket": mail.ticket_id,
            "comment": mail.comment_id,
            "state": mail.state,
            "label": mail.get_state_display(),
            "reason": mail.last_error,
        }
    )
    message = {"type": "delivery", "ticket": mail.ticket_id, "frame": frame}
    transaction.on_commit(lambda: publish([ticket_group(mail.ticket_id)], message))
