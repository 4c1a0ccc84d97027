"""Per-process state of the live layer: the hub that receives each ticket event once per
process, and the watchdog that re-checks the sessions behind all open sockets together.

Both are kept per event loop (a process runs one; tests may start several).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings

from tickets.live.admission import CLOSE_UNAVAILABLE, LAYER_ERRORS, check_sessions

if TYPE_CHECKING:
    from tickets.live.consumer import DashboardConsumer

logger = logging.getLogger(__name__)


class Watchdog:
    """This process's open dashboard sockets (per event loop), re-checked together every
    LIVE_SESSION_CHECK_SECONDS: expiry, deactivation, a password change or a removed device
    closes them (a few queries per process, not per socket)."""

    def __init__(self) -> None:
        self.sockets: set[DashboardConsumer] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, socket: DashboardConsumer) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, socket: DashboardConsumer) -> None:
        self.sockets.discard(socket)
        if not self.sockets and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(settings.LIVE_SESSION_CHECK_SECONDS)
            sockets = list(self.sockets)
            identities = [
                (s.admission.session_key, s.admission.user_id, s.admission.device_id)
                for s in sockets
            ]
            try:
                ended = await database_sync_to_async(check_sessions)(identities)
            except Exception:
                logger.exception("could not check the sessions of open websockets")
                continue
            for socket in sockets:
                refusal = ended.get(socket.admission.session_key)
                if refusal is not None:
                    await socket.end(refusal.code, refusal.reason)


watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watchdog] = (
    weakref.WeakKeyDictionary()
)


def process_watchdog() -> Watchdog:
    """The watchdog of the running event loop."""
    loop = asyncio.get_running_loop()
    watchdog = watchdogs.get(loop)
    if watchdog is None:
        watchdog = watchdogs[loop] = Watchdog()
    return watchdog


class Hub:
    """This process's subscription to the queue groups.

    Ticket events are the bulk of the traffic, so they are received and decoded once per
    process, not once per socket: the hub's one channel joins each queue group that any local
    socket needs, and hands every event to the local sockets of that group with a plain call.
    (With the pub/sub layer, each socket in a group would otherwise wake up, decode the same
    message and dispatch it.) Session, user and presence messages, which are rare, still
    reach each socket's own channel.

    Every LIVE_LAYER_CHECK_SECONDS the hub sends itself a beat through the layer. A beat that
    cannot be sent or does not come back means Redis is gone (or came back without our
    subscriptions): the hub closes this process's sockets with 4503 (the pages show
    "reconnecting", retry with backoff and resync what they missed), drops the layer's
    connections and starts afresh with the next socket.
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[DashboardConsumer]] = {}
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.beat_task: asyncio.Task[None] | None = None
        self.beat = asyncio.Event()

    async def join(self, group: str, socket: DashboardConsumer) -> None:
        async with self.lock:
            if self.channel is None:
                channel = await self.layer.new_channel()
                loop = asyncio.get_running_loop()
                self.channel = channel
                self.task = loop.create_task(self._listen(channel))
                self.beat_task = loop.create_task(self._check_layer(channel))
            sockets = self.members.get(group)
            if sockets is None:
                await self.layer.group_add(group, self.channel)
                sockets = self.members[group] = set()
            sockets.add(socket)

    async def leave(self, group: str, socket: DashboardConsumer) -> None:
        async with self.lock:
            sockets = self.members.get(group)
            if sockets is None or socket not in sockets:
                return
            sockets.discard(socket)
            if not sockets:
                del self.members[group]
                try:
                    await self.layer.group_discard(group, self.channel)
                except LAYER_ERRORS:
                    logger.warning("could not leave %s", group, exc_info=True)
            if not self.members:
                self._stop()

    def _stop(self) -> None:
        for task in (self.task, self.beat_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()  # the layer unsubscribes the channel as receive() ends
        self.task = self.beat_task = self.channel = None

    async def _check_layer(self, channel: str) -> None:
        """Beat through the layer until it fails; then close the sockets and start afresh."""
        interval = settings.LIVE_LAYER_CHECK_SECONDS
        while True:
            await asyncio.sleep(interval)
            self.beat.clear()
            try:
                await asyncio.wait_for(self.layer.send(channel, {"type": "hub.beat"}), interval)
                await asyncio.wait_for(self.beat.wait(), interval)
            except LAYER_ERRORS:
                await self._layer_lost()
                return

    async def _layer_lost(self) -> None:
        sockets = list(process_watchdog().sockets)
        logger.warning(
            "live: the channel layer does not answer; closing %d sockets to resync later",
            len(sockets),
        )
        async with self.lock:
            self.members.clear()
            self._stop()
            try:  # drop connections that may be stale once Redis returns
                await asyncio.wait_for(self.layer.flush(), settings.LIVE_LAYER_CHECK_SECONDS)
            except Exception:
                logger.warning("could not reset the channel layer", exc_info=True)
        for socket in sockets:
            try:
                await socket.end(CLOSE_UNAVAILABLE, "channel_layer_unavailable")
            except Exception:
                logger.warning("could not close a socket", exc_info=True)

    async def _listen(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except Exception:  # keep serving: a broken message must not end live updates
                logger.exception("could not receive a ticket event")
                await asyncio.sleep(1)
                continue
            if message.get("type") == "hub.beat":
                self.beat.set()
                continue
            for socket in tuple(self.members.get(message.get("group", ""), ())):
                try:
                    socket.deliver(message)
                except Exception:  # one socket's trouble must not stop the others' events
                    logger.exception("could not deliver %s", message.get("type"))


hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def process_hub(layer: Any) -> Hub:
    """The hub of the running event loop on this channel layer."""
    loop = asyncio.get_running_loop()
    hub = hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = hubs[loop] = Hub(layer)
    return hub
