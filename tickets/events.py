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
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Managers and admins see every queue: their sockets join this one group instead of one per
# queue, so a queue created later reaches them too and each event reaches them once.
ALL_QUEUES_GROUP = "queue_all"


def queue_group(queue_id: int) -> str:
    return f"queue_{queue_id}"


def ticket_group(ticket_id: int) -> str:
    """Sockets showing one ticket's page (presence: who else has it open)."""
    return f"ticket_{ticket_id}"


def to_json(data: dict[str, Any]) -> str:
    """The compact JSON text sent to browsers (built once per event, not once per socket)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


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
    from django.db.models.signals import m2m_changed

    # Logging out closes that session's sockets through accounts/receivers.py (user_logged_out).
    m2m_changed.connect(
        membership_changed, sender=_queue_members(), dispatch_uid="live_queue_members"
    )
    m2m_changed.connect(
        membership_changed,
        sender=get_user_model().groups.through,
        dispatch_uid="live_user_groups",
    )
