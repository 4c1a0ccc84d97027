"""Queue membership and roles decide which queue groups a socket follows: when either
changes, the affected users' open sockets re-read their access."""

from __future__ import annotations

from typing import Any

from tickets.live.publish import queues_changed


def membership_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Queue membership or roles changed: the affected users' sockets rejoin their groups.

    Connected to Queue.members and User.groups. On the forward side ``instance`` is the
    queue or user and ``pk_set`` the other side's ids; a clear has no pk_set, so the
    members are read before it happens.
    """
    user_side_is_instance = (sender is queue_members()) == reverse
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


def queue_members() -> Any:
    """The through model of Queue.members."""
    from tickets.models import Queue

    return Queue.members.through


def _users_attr(sender: Any) -> str:
    return "members" if sender is queue_members() else "user_set"
