"""Realtime events for the live dashboard, published only after the change commits.

One event per change, serialised once (to the JSON text every socket sends as is) and fanned
out by the channel layer to the group of the ticket's queue and to the managers' group. Events
carry ids, codes and display text only: never descriptions, comments or contact data.

Besides the ticket as it is now, an event says what it was before the change (``was``: the
fields the dashboard counts by) and the history lines the change wrote (``activity``), so a
live page can adjust its counters and feed without asking the database. Neither needs a query:
``was`` is a snapshot taken when the service loaded the ticket, ``activity`` collects the
Activity rows saved against that same ticket instance.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.live.groups import ALL_QUEUES_GROUP, queue_group
from tickets.live.publish import publish, to_json
from tickets.models import Activity, Ticket

logger = logging.getLogger(__name__)

# The ticket fields a dashboard counts by; their values before a change travel as ``was``.
TRACKED_FIELDS = ("queue_id", "status", "priority", "assignee_id", "due_at")
_SNAPSHOT = "_live_was"
_ACTIVITY = "_live_activity"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
        "assignee": ticket.assignee.get_username() if ticket.assignee_id else "",
        "due_at": _iso(ticket.due_at),
        "updated_at": _iso(ticket.updated_at),
    }


def activity_fields(activity: Activity) -> dict[str, Any]:
    """One history line as display text (the dashboard feed's entry)."""
    actor = activity.actor if activity.actor_id else None  # loaded with it by callers
    return {
        "verb": activity.verb,
        "verb_label": activity.get_verb_display(),
        "old": activity.old_value,
        "new": activity.new_value,
        "actor": actor.get_username() if actor is not None else "",
        "at": _iso(activity.created_at),
    }


def _was(ticket: Ticket) -> dict[str, Any] | None:
    snapshot = ticket.__dict__.get(_SNAPSHOT)
    if snapshot is None:
        return None
    was = dict(snapshot)
    was["due_at"] = _iso(was["due_at"])
    return was


def ticket_payload(ticket: Ticket, *, kind: str, actor: Any) -> dict[str, Any]:
    """The event body: safe to show to anyone who may see the ticket's queue."""
    return {
        "kind": kind,
        **ticket_fields(ticket),
        "actor_id": getattr(actor, "pk", None),
        "actor": actor.get_username() if actor is not None else "",
        "at": timezone.now().isoformat(),
        "was": None if kind == "created" else _was(ticket),
        "activity": [activity_fields(a) for a in ticket.__dict__.get(_ACTIVITY, ())],
    }


def _publish_each(messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        publish([group], message)


def ticket_changed(
    ticket: Ticket, *, kind: str, actor: Any, old_queue_id: int | None = None
) -> None:
    """Publish a ticket change to its queue's group (and the old queue's, after a move).

    The sockets of the old queue get a ``ticket.moved_out`` message instead: those that cannot
    see the new queue drop the ticket without learning anything about it beyond its id.
    """
    payload = ticket_payload(ticket, kind=kind, actor=actor)
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
    # Consumed: a later change of the same instance starts from here.
    ticket.__dict__.pop(_ACTIVITY, None)
    snapshot_ticket(Ticket, ticket)
    transaction.on_commit(lambda: _publish_each(messages))


# --- Receivers (connected in TicketsConfig.ready) -------------------------------------------


def snapshot_ticket(sender: type[Ticket], instance: Ticket, **kwargs: Any) -> None:
    """Remember a loaded ticket's tracked fields: the ``was`` of the change about to happen.

    Reads the instance's __dict__ only, so deferred fields are never loaded by this.
    """
    if instance.pk is None:
        return
    values = instance.__dict__
    if all(name in values for name in TRACKED_FIELDS):
        values[_SNAPSHOT] = {name: values[name] for name in TRACKED_FIELDS}


def collect_activity(
    sender: type[Activity], instance: Activity, created: bool, **kwargs: Any
) -> None:
    """Attach a new history line to the ticket instance its service will publish."""
    ticket = instance._state.fields_cache.get("ticket", None)
    if created and ticket is not None:
        ticket.__dict__.setdefault(_ACTIVITY, []).append(instance)


def connect_receivers() -> None:
    from django.db.models.signals import post_init, post_save

    post_init.connect(snapshot_ticket, sender=Ticket, dispatch_uid="live_snapshot_ticket")
    post_save.connect(collect_activity, sender=Activity, dispatch_uid="live_collect_activity")
