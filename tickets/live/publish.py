"""Sending live messages through the channel layer, after the change that causes them commits.

A message is serialised once by its publisher (``to_json``): every socket sends that text as
is. A broken channel layer never fails a committed change: publishing only logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from tickets.live.groups import session_group, user_group

logger = logging.getLogger(__name__)


def to_json(data: dict[str, Any]) -> str:
    """The compact JSON text sent to browsers (built once per event, not once per socket)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop per process for publishing from sync code (web workers,
    commands, the mail worker): a fresh loop per event would open a new Redis connection
    each time, which costs more than the change itself."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="live-publish", daemon=True).start()
        return _loop


def publish(groups: list[str], message: dict[str, Any]) -> None:
    """Send one message to these groups now (callers defer it with ``on_commit``)."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            if isinstance(layer, InMemoryChannelLayer):
                # The in-memory layer (make run) lives on the server's own loop.
                async_to_sync(layer.group_send)(group, message)
            else:
                coroutine = layer.group_send(group, message)
                asyncio.run_coroutine_threadsafe(coroutine, _publishing_loop()).result(5)
        except Exception:  # a broken channel layer must not fail a committed change
            logger.exception("could not publish %s to %s", message.get("type"), group)


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
