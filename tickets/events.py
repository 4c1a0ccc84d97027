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

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from tickets.models import Activity, Ticket

logger = logging.getLogger(__name__)

# Managers and admins see every queue: their sockets join this one group instead of one per
# queue, so a queue created later reaches them too and each event reaches them once.
ALL_QUEUES_GROUP = "queue_all"
# The ticket fields a dashboard counts by; their values before a change travel as ``was``.
TRACKED_FIELDS = ("queue_id", "status", "priority", "assignee_id", "due_at")
_SNAPSHOT = "_live_was"
_ACTIVITY = "_live_activity"


def queue_group(queue_id: int) -> str:
    return f"queue_{queue_id}"


def ticket_group(ticket_id: int) -> str:
    """Sockets showing one ticket's page (presence: who else has it open)."""
    return f"ticket_{ticket_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_json(data: dict[str, Any]) -> str:
    """The compact JSON text sent to browsers (built once per event, not once per socket)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


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


def user_group(user_id: int) -> str:
    return f"user_{user_id}"


def session_group(session_key: str) -> str:
    """Group of the sockets opened under one login session (the key is hashed: group names
    travel through Redis and must not reveal session keys)."""
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


def membership_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Queue membership or roles changed: the affected users' sockets rejoin their groups.

    Connected to Queue.members and User.groups. On the forward side ``instance`` is the
    queue or user and ``pk_set`` the other side's ids; a clear has no pk_set, so the
    members are read before it happens.
    """
    user_side_is_instance = (sender is _queue_members()) == reverse
    if action == "pre_clear":
        if not user_side_is_instance:
            instance._live_cleared_users = list(
                getattr(instance, _users_attr(sender)).values_list("pk", flat=True)
            )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if user_side_is_instance:
        user_ids = [instance.pk]
    elif action == "post_clear":
        user_ids = instance.__dict__.pop("_live_cleared_users", [])
    else:
        user_ids = sorted(pk_set or ())
    if user_ids:
        queues_changed(user_ids)


def _queue_members() -> Any:
    from tickets.models import Queue

    return Queue.members.through


def _users_attr(sender: Any) -> str:
    return "members" if sender is _queue_members() else "user_set"


def connect_receivers() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed, post_init, post_save

    post_init.connect(snapshot_ticket, sender=Ticket, dispatch_uid="live_snapshot_ticket")
    post_save.connect(collect_activity, sender=Activity, dispatch_uid="live_collect_activity")
    # Logging out closes that session's sockets through accounts/receivers.py (user_logged_out).
    m2m_changed.connect(
        membership_changed, sender=_queue_members(), dispatch_uid="live_queue_members"
    )
    m2m_changed.connect(
        membership_changed,
        sender=get_user_model().groups.through,
        dispatch_uid="live_user_groups",
    )
