"""What the live layer listens to (connected in TicketsConfig.ready): accounts' "sessions
ended" signals close sockets, membership and role changes make sockets re-read their queues."""

from __future__ import annotations

from typing import Any

from tickets.live.membership import membership_changed, queue_members
from tickets.live.publish import disconnect_sessions, disconnect_user


def _sessions_ended(sender: Any, session_keys: list[str], reason: str, **kwargs: Any) -> None:
    disconnect_sessions(session_keys, reason=reason)  # publishes on commit


def _user_sessions_ended(sender: Any, user_id: int, reason: str, **kwargs: Any) -> None:
    disconnect_user(user_id, reason=reason)  # publishes on commit


def connect_receivers() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed

    from accounts.signals import sessions_ended, user_sessions_ended

    sessions_ended.connect(_sessions_ended, dispatch_uid="live_sessions_ended")
    user_sessions_ended.connect(_user_sessions_ended, dispatch_uid="live_user_sessions_ended")
    m2m_changed.connect(
        membership_changed, sender=queue_members(), dispatch_uid="live_queue_members"
    )
    m2m_changed.connect(
        membership_changed,
        sender=get_user_model().groups.through,
        dispatch_uid="live_user_groups",
    )
