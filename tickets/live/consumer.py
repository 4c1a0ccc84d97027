"""The live dashboard's websocket, ``/ws/dashboard/``: one socket per open staff page.

Admission happens before ``accept()`` (tickets/live/admission.py; the Origin was checked in
front, tickets/live/origin.py): anonymous users, sessions past their idle or absolute limit,
sessions without a verified second factor, inactive users, users without a role are refused
with a 44xx close code and a ``websocket_rejected`` security event. An admitted socket
follows one group per queue it may see (managers: the all-queues group) through its
process's hub, which receives each ticket event once per process and hands it to the local
sockets; the socket's own channel joins its session's and its user's group. It closes when
the session ends: logout and revocation arrive as ``session.ended``; expiry, deactivation, a
password change or a removed device are found by each process's watchdog
(tickets/live/hub.py).

Fan-out cost is per frame, so a socket's events are coalesced: the first event after a quiet
spell goes out at once, later ones wait until LIVE_COALESCE_MS after the previous frame and go
out together as one ``{"type": "batch", "events": [...]}`` frame. Each event's JSON text is
built once by its publisher (tickets/live/events.py, tickets/live/publish.py); sockets only join
strings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from tickets.access import visible_ticket_queue_id
from tickets.live.admission import (
    CLOSE_LOGIN_REQUIRED,
    CLOSE_TOO_MANY,
    CLOSE_UNAVAILABLE,
    LAYER_ERRORS,
    Admission,
    Refusal,
    admit,
    refuse,
    reload_access,
)
from tickets.live.groups import (
    ALL_QUEUES_GROUP,
    queue_group,
    session_group,
    ticket_group,
    user_group,
)
from tickets.live.hub import process_hub, process_watchdog
from tickets.live.publish import to_json
from tickets.live.registry import registry

logger = logging.getLogger(__name__)

CLOSE_TOO_MANY_MESSAGES = CLOSE_TOO_MANY
CLOSE_SERVER_ERROR = 1011  # the standard code for "the server hit an unexpected condition"

MAX_CLIENT_MESSAGE = 512  # characters; clients send only pings and watch requests
CLIENT_MESSAGES_PER_MINUTE = 60


class DashboardConsumer(AsyncWebsocketConsumer):
    """One staff page's live connection: ticket events of its queues, presence on a ticket."""

    admission: Admission

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted = False
        self.closing = False
        self.joined: set[str] = set()  # groups of this socket's own channel
        self.queue_groups: set[str] = set()  # groups it follows through the process's hub
        self.watching: int | None = None
        self._pending: list[str] = []
        self._flush_due = False
        self._last_flush = 0.0
        self._flush_task: asyncio.Task[None] | None = None
        self._presence_task: asyncio.Task[None] | None = None
        self._message_times: list[float] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self._window = settings.LIVE_COALESCE_MS / 1000

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Every exit path ends here: a normal close, a failing handler, the channel layer
        # failing before connect() (Redis down: a refused handshake, never a 500), or daphne
        # cancelling the application instance (then disconnect() never runs).
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS:
            logger.warning("websocket refused: the channel layer is unavailable")
            if not self.accepted:
                await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
        finally:
            await self._cleanup()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels' dispatch closes stale database connections before every message: a thread
        # hop per event per socket, the largest cost of fan-out. Our handlers reach the
        # database only through database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except Exception:
            if not self.accepted or message["type"] == "websocket.disconnect":
                raise
            # A failing handler (the database gone during a watch, a malformed message) would
            # end this consumer without disconnect(): its hub, watchdog and group entries
            # would outlive it. Close instead, so the usual disconnect cleans up.
            logger.exception("websocket handler for %s failed", message["type"])
            await self.end(CLOSE_SERVER_ERROR, "server_error")

    # -- opening and closing

    async def connect(self) -> None:
        verdict = await database_sync_to_async(admit)(self.scope)
        if isinstance(verdict, Refusal):
            await refuse(self, verdict, self.scope.get("user"))
            return
        self.admission = verdict
        over = registry.claim(self, session_key=verdict.session_key, user_id=verdict.user_id)
        if over is not None:
            await refuse(self, Refusal(CLOSE_TOO_MANY, over), self.scope.get("user"))
            return
        try:
            await self._follow(self._access_groups(verdict.queue_ids))
            await self._join({session_group(verdict.session_key), user_group(verdict.user_id)})
        except LAYER_ERRORS:
            logger.warning("websocket refused: the channel layer is unavailable")
            await self._cleanup()
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        except BaseException:
            await self._cleanup()  # the socket dies here: leave nothing behind
            raise
        await self.accept()
        self.accepted = True
        process_watchdog().add(self)
        await self.send(
            text_data=to_json(
                {"type": "hello", "user_id": verdict.user_id, "queues": self._queue_list()}
            )
        )

    async def disconnect(self, code: int) -> None:
        await self._cleanup()

    async def _cleanup(self) -> None:
        """Leave nothing behind (idempotent): the registry, the watchdog, tasks, groups. The
        channel layer may be down: its errors are logged, the rest is still released."""
        self.closing = True
        registry.release(self)
        process_watchdog().discard(self)
        for task in (self._flush_task, self._presence_task):
            if task is not None:
                task.cancel()
        try:
            await self._unwatch()
        except Exception:
            logger.warning("could not announce leaving a ticket", exc_info=True)
            self.watching = None
        await self._forget_groups()

    async def end(self, code: int, reason: str) -> None:
        """Close because the session ended (or lost its right to this socket)."""
        if self.closing:
            return
        self.closing = True
        logger.info("closing websocket of user %s: %s", self.admission.user_id, reason)
        await self.close(code=code)

    # -- groups

    @staticmethod
    def _access_groups(queue_ids: frozenset[int] | None) -> set[str]:
        if queue_ids is None:
            return {ALL_QUEUES_GROUP}
        return {queue_group(queue_id) for queue_id in queue_ids}

    async def _forget_groups(self) -> None:
        """Leave every group, each on its own: one failing (the layer gone) stops no other."""
        hub = process_hub(self.channel_layer)
        for group in list(self.queue_groups):
            self.queue_groups.discard(group)
            await hub.leave(group, self)
        for group in list(self.joined):
            self.joined.discard(group)
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("could not leave %s", group, exc_info=True)

    async def _follow(self, groups: set[str]) -> None:
        hub = process_hub(self.channel_layer)
        for group in groups - self.queue_groups:
            await hub.join(group, self)
            self.queue_groups.add(group)

    async def _unfollow(self, groups: set[str]) -> None:
        hub = process_hub(self.channel_layer)
        for group in groups & self.queue_groups:
            await hub.leave(group, self)
            self.queue_groups.discard(group)

    async def _join(self, groups: set[str]) -> None:
        for group in groups - self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    async def _leave(self, groups: set[str]) -> None:
        for group in groups & self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)

    def _queue_list(self) -> list[int] | None:
        ids = self.admission.queue_ids
        return None if ids is None else sorted(ids)

    def can_see_queue(self, queue_id: int) -> bool:
        ids = self.admission.queue_ids
        return ids is None or queue_id in ids

    # -- frames: coalesced per socket

    def _push(self, frame: str) -> None:
        if self.closing:
            return
        self._pending.append(frame)
        if self._flush_due:
            return
        self._flush_due = True
        loop = asyncio.get_running_loop()
        delay = self._last_flush + self._window - loop.time()
        if delay > 0:
            loop.call_later(delay, self._start_flush)
        else:
            # Still through the loop: events already queued for this socket join this frame.
            loop.call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._flush_task = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        frames, self._pending = self._pending, []
        self._flush_due = False
        self._last_flush = asyncio.get_running_loop().time()
        if frames and not self.closing:
            await self.send(text_data='{"type":"batch","events":[' + ",".join(frames) + "]}")

    # -- channel layer messages

    def deliver(self, message: dict[str, Any]) -> None:
        """A ticket event from the hub (called once per socket of the event's group)."""
        event = message["event"]
        if message["type"] == "ticket.changed":
            if self.can_see_queue(event["queue_id"]):
                self._push(message["frame"])
        elif message["type"] == "ticket.moved_out":
            if self.can_see_queue(event["queue_id"]):
                return  # this socket gets the full event through the new queue's group
            self._push(message["frame"])
            if self.watching == event["id"]:
                task = asyncio.ensure_future(self._unwatch())
                self._tasks.add(task)  # keep a reference until it is done
                task.add_done_callback(self._tasks.discard)

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.end(CLOSE_LOGIN_REQUIRED, f"session_{message.get('reason', 'ended')}")

    async def queues_changed(self, message: dict[str, Any]) -> None:
        verdict = await database_sync_to_async(reload_access)(self.admission.user_id)
        if isinstance(verdict, Refusal):
            await self.end(verdict.code, verdict.reason)
            return
        wanted = self._access_groups(verdict)
        await self._unfollow(self.queue_groups - wanted)
        await self._follow(wanted)
        self.admission = replace(self.admission, queue_ids=verdict)
        if self.watching is not None:
            queue_id = await database_sync_to_async(visible_ticket_queue_id)(
                self.admission.queue_ids, self.watching
            )
            if queue_id is None:
                await self._unwatch()
        # What the page shows may have changed: it refetches (and learns its queues).
        self._push(to_json({"type": "resync", "queues": self._queue_list()}))

    async def presence(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name or message["ticket"] != self.watching:
            return
        self._push(message["frame"])
        if message["op"] == "join":  # introduce ourselves to the newcomer
            await self.channel_layer.send(message["channel"], self._presence_message("here"))

    async def delivery(self, message: dict[str, Any]) -> None:
        """A reply's mail changed state (tickets/live/events.delivery_event)."""
        if message["ticket"] == self.watching:
            self._push(message["frame"])

    async def notification(self, message: dict[str, Any]) -> None:
        """A notification for this socket's user (tickets/services/agent.notify_mentions)."""
        self._push(message["frame"])

    # -- presence: who else has this ticket open

    def _presence_message(self, op: str) -> dict[str, Any]:
        frame = {
            "type": "presence",
            "op": op,
            "ticket": self.watching,
            "user_id": self.admission.user_id,
            "user": self.admission.username,
            # An opaque per-socket id: the same person in two tabs counts once, leaves twice.
            "conn": self.channel_name[-12:],
            "ttl": settings.LIVE_PRESENCE_SECONDS,
        }
        return {
            "type": "presence",
            "op": op,
            "ticket": self.watching,
            "channel": self.channel_name,
            "frame": to_json(frame),
        }

    async def _watch(self, ticket_id: int) -> None:
        if ticket_id == self.watching:
            return
        await self._unwatch()
        queue_id = await database_sync_to_async(visible_ticket_queue_id)(
            self.admission.queue_ids, ticket_id
        )
        if queue_id is None or self.closing:
            return  # not visible: the same silence as for a ticket that does not exist
        self.watching = ticket_id
        await self._join({ticket_group(ticket_id)})
        await self.channel_layer.group_send(ticket_group(ticket_id), self._presence_message("join"))
        self._presence_task = asyncio.ensure_future(self._announce())

    async def _unwatch(self) -> None:
        if self.watching is None:
            return
        if self._presence_task is not None:
            self._presence_task.cancel()
            self._presence_task = None
        group = ticket_group(self.watching)
        await self.channel_layer.group_send(group, self._presence_message("leave"))
        await self._leave({group})
        self.watching = None

    async def _announce(self) -> None:
        while self.watching is not None:
            await asyncio.sleep(settings.LIVE_PRESENCE_SECONDS)
            if self.watching is not None:
                await self.channel_layer.group_send(
                    ticket_group(self.watching), self._presence_message("here")
                )

    # -- messages from the browser

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        now = time.monotonic()
        self._message_times = [t for t in self._message_times if now - t < 60]
        self._message_times.append(now)
        if len(self._message_times) > CLIENT_MESSAGES_PER_MINUTE:
            await self.end(CLOSE_TOO_MANY_MESSAGES, "too_many_messages")
            return
        if not text_data or len(text_data) > MAX_CLIENT_MESSAGE:
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "ping":
            await self.send(text_data='{"type":"pong"}')
        elif kind == "watch":
            ticket = message.get("ticket")
            if isinstance(ticket, int) and not isinstance(ticket, bool) and 0 < ticket < 2**63:
                await self._watch(ticket)
        elif kind == "unwatch":
            await self._unwatch()
