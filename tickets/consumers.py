"""The live dashboard's websocket, ``/ws/dashboard/``: one socket per open staff page.

Admission happens before ``accept()``: anonymous users, sessions past their idle or absolute
limit, sessions without a verified second factor, inactive users, users without a role and
foreign Origins are refused with a 44xx close code and a ``websocket_rejected`` security
event. An admitted socket follows one group per queue it may see (managers: the all-queues
group) through its process's hub, which receives each ticket event once per process and hands
it to the local sockets; the socket's own channel joins its session's and its user's group.
It closes when the session ends: logout and revocation arrive as ``session.ended``; expiry,
deactivation, a password change or a removed device are found by each process's watchdog,
which re-reads the sessions behind all its sockets together every LIVE_SESSION_CHECK_SECONDS
(a few queries per process, not per socket).

Fan-out cost is per frame, so a socket's events are coalesced: the first event after a quiet
spell goes out at once, later ones wait until LIVE_COALESCE_MS after the previous frame and go
out together as one ``{"type": "batch", "events": [...]}`` frame. Each event's JSON text is
built once by its publisher (tickets/events.py); sockets only join strings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import import_module
from typing import Any
from urllib.parse import urlparse

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.apps import apps
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts.session_policy import session_end_reason
from tickets import access
from tickets.events import (
    ALL_QUEUES_GROUP,
    queue_group,
    session_group,
    ticket_group,
    to_json,
    user_group,
)
from tickets.models import Ticket
from ticketsystem.roles import ROLES, is_staff_member

logger = logging.getLogger(__name__)

# Close codes (the 4000-4999 range is the application's). Before accept() a browser only sees
# a failed handshake (HTTP 403); live.js then asks the resync endpoint whether it is logged in.
CLOSE_LOGIN_REQUIRED = 4401  # anonymous, no second factor, session ended: log in again
CLOSE_FORBIDDEN = 4403  # foreign Origin, inactive user, no role
CLOSE_TOO_MANY_MESSAGES = 4429
CLOSE_SERVER_ERROR = 1011  # the standard code for "the server hit an unexpected condition"

MAX_CLIENT_MESSAGE = 512  # characters; clients send only pings and watch requests
CLIENT_MESSAGES_PER_MINUTE = 60
# A refused client that retries must not write an audit row per attempt: one per address and
# reason per window is enough to see it (and keeps a flood from serialising the audit chain).
REJECTION_AUDIT_WINDOW = 60


@dataclass(frozen=True)
class Refusal:
    code: int
    reason: str


@dataclass(frozen=True)
class Admission:
    user_id: int
    username: str
    session_key: str
    device_id: str
    queue_ids: frozenset[int] | None  # None: every queue


class _ScopeRequest:
    """Just enough of an HttpRequest for client_ip() and user_agent() (audit events)."""

    def __init__(self, scope: dict[str, Any]) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name.decode("latin1").lower(), []).append(value.decode("latin1"))
        client = scope.get("client") or ("", 0)
        self.META = {
            "REMOTE_ADDR": client[0] or "",
            "HTTP_X_FORWARDED_FOR": ", ".join(headers.get("x-forwarded-for", [])),
            "HTTP_USER_AGENT": ", ".join(headers.get("user-agent", [])),
        }
        self.id = ""


def _origin(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin1")
    return ""


def record_rejection(scope: dict[str, Any], refusal: Refusal, user: Any = None) -> None:
    """Write a websocket_rejected security event (at most one per address, reason and window)."""
    from audit.events import record_event
    from ticketsystem.clientip import client_ip

    request = _ScopeRequest(scope)
    ip = client_ip(request) or "-"
    try:
        first = cache.add(f"ws:rejected:{ip}:{refusal.reason}", 1, REJECTION_AUDIT_WINDOW)
    except Exception:  # no cache: record every refusal rather than none
        first = True
    if not first:
        return
    details: dict[str, Any] = {"reason": refusal.reason, "code": refusal.code}
    if refusal.reason == "origin":
        details["origin"] = _origin(scope)[:200]
    user = user if getattr(user, "is_authenticated", False) else None
    record_event(
        "websocket_rejected",
        actor=user,
        request=request,
        resource=scope.get("path", "")[:200],
        details=details,
    )


async def _refuse(consumer: AsyncWebsocketConsumer, refusal: Refusal, user: Any = None) -> None:
    logger.info("websocket refused: %s", refusal.reason)
    try:
        await database_sync_to_async(record_rejection)(consumer.scope, refusal, user)
    except Exception:  # the refusal stands even if it cannot be recorded
        logger.exception("could not record a websocket refusal")
    await consumer.close(code=refusal.code)


class OriginRefused(AsyncWebsocketConsumer):
    """Answers a websocket from a foreign Origin: a security event, then close 4403."""

    async def connect(self) -> None:
        await _refuse(self, Refusal(CLOSE_FORBIDDEN, "origin"))


class AllowedHostsOriginValidator(OriginValidator):
    """channels' AllowedHostsOriginValidator (Origin must match ALLOWED_HOSTS), refusing with
    close code 4403 and a security event instead of a bare close."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("AllowedHostsOriginValidator only guards websockets")
        origin = _origin(scope)
        try:
            parsed = urlparse(origin) if origin else None
        except ValueError:
            parsed = None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await OriginRefused()(scope, receive, send)


# --- Admission and the periodic session check (sync: they read the database) -----------------


def _verified_device_ids(persistent_ids: Iterable[str]) -> dict[str, int]:
    """{persistent id: user id} of the confirmed devices among these ids, by model in one
    query each (django-otp ids look like ``otp_totp.totpdevice/12``)."""
    by_model: dict[Any, dict[int, str]] = {}
    for pid in set(persistent_ids):
        try:
            label, raw_id = pid.rsplit("/", 1)
            model = apps.get_model(label)
            if issubclass(model, Device):
                by_model.setdefault(model, {})[int(raw_id)] = pid
        except (ValueError, LookupError, AttributeError):
            continue
    verified: dict[str, int] = {}
    for model, ids in by_model.items():
        rows = model.objects.filter(pk__in=ids, confirmed=True).values_list("pk", "user_id")
        for pk, user_id in rows:
            verified[ids[pk]] = user_id
    return verified


def _device_verified(persistent_id: Any, user_id: int) -> bool:
    """django-otp's own rule: the session's device exists, is confirmed and is the user's."""
    if not isinstance(persistent_id, str) or not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user_id and device.confirmed


def _queue_ids(user: Any) -> frozenset[int] | None:
    ids = access.visible_queue_ids(user)
    return None if ids is None else frozenset(ids)


def admit(scope: dict[str, Any]) -> Admission | Refusal:
    """May this socket open? Reads the session and user that AuthMiddleware resolved."""
    session, user = scope["session"], scope["user"]
    if not user.is_authenticated:
        user_id = session.get(SESSION_KEY)
        try:
            inactive = (
                bool(user_id)
                and get_user_model().objects.filter(pk=user_id, is_active=False).exists()
            )
        except (ValueError, TypeError):
            inactive = False
        return (
            Refusal(CLOSE_FORBIDDEN, "inactive")
            if inactive
            else Refusal(CLOSE_LOGIN_REQUIRED, "anonymous")
        )
    if reason := session_end_reason(session):
        return Refusal(CLOSE_LOGIN_REQUIRED, f"session_{reason}")
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    if not _device_verified(device_id, user.pk):
        return Refusal(CLOSE_LOGIN_REQUIRED, "no_second_factor")
    if not is_staff_member(user):
        return Refusal(CLOSE_FORBIDDEN, "no_role")
    return Admission(
        user_id=user.pk,
        username=user.get_username(),
        session_key=session.session_key,
        device_id=device_id,
        queue_ids=_queue_ids(user),
    )


def _load_sessions(keys: list[str]) -> dict[str, dict[str, Any]]:
    """The current data of these sessions (missing or expired ones are left out)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "get_model_class"):  # db and cached_db: one query for all of them
        rows = (
            store.get_model_class()
            .objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
            .values_list("session_key", "session_data")
        )
        decoder = store()
        return {key: decoder.decode(data) for key, data in rows}
    loaded = {}
    for key in keys:
        data = store(key).load()
        if data:
            loaded[key] = data
    return loaded


def check_sessions(sockets: list[tuple[str, int, str]]) -> dict[str, Refusal]:
    """Which of these (session key, user id, device id) may no longer stay open, and why.

    Five queries whatever the number of sockets: sessions, users, roles, devices.
    """
    keys = sorted({key for key, _, _ in sockets})
    sessions = _load_sessions(keys)
    user_ids = {user_id for _, user_id, _ in sockets}
    user_model = get_user_model()
    users = {user.pk: user for user in user_model.objects.filter(pk__in=user_ids)}
    with_role = set(
        user_model.groups.through.objects.filter(
            user_id__in=user_ids, group__name__in=ROLES
        ).values_list("user_id", flat=True)
    )
    devices = _verified_device_ids(device_id for _, _, device_id in sockets)
    ended: dict[str, Refusal] = {}
    for key, user_id, device_id in sockets:
        data = sessions.get(key)
        user = users.get(user_id)
        if data is None or str(data.get(SESSION_KEY)) != str(user_id):
            ended[key] = Refusal(CLOSE_LOGIN_REQUIRED, "session_ended")
        elif reason := session_end_reason(data):
            ended[key] = Refusal(CLOSE_LOGIN_REQUIRED, f"session_{reason}")
        elif user is None or not user.is_active:
            ended[key] = Refusal(CLOSE_FORBIDDEN, "inactive")
        elif not constant_time_compare(
            data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
        ):
            ended[key] = Refusal(CLOSE_LOGIN_REQUIRED, "password_changed")
        elif data.get(DEVICE_ID_SESSION_KEY) != device_id or devices.get(device_id) != user_id:
            ended[key] = Refusal(CLOSE_LOGIN_REQUIRED, "no_second_factor")
        elif user_id not in with_role and not user.is_superuser:
            ended[key] = Refusal(CLOSE_FORBIDDEN, "no_role")
    return ended


def _reload_access(user_id: int) -> frozenset[int] | Refusal | None:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return Refusal(CLOSE_FORBIDDEN, "inactive")
    if not is_staff_member(user):
        return Refusal(CLOSE_FORBIDDEN, "no_role")
    return _queue_ids(user)


def _ticket_queue(ticket_id: int) -> int | None:
    return Ticket.objects.filter(pk=ticket_id).values_list("queue_id", flat=True).first()


def _count_open(delta: int) -> None:
    """Best effort: /metrics shows this; a lost update is not worth failing a socket for."""
    key = settings.WS_OPEN_CACHE_KEY
    try:
        if delta > 0:
            cache.add(key, 0, timeout=None)
            cache.incr(key, delta)
        else:
            cache.decr(key, -delta)
    except Exception:
        logger.debug("could not update %s", key, exc_info=True)


class _Watchdog:
    """This process's open dashboard sockets (per event loop), re-checked together."""

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


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)


def _watchdog() -> _Watchdog:
    loop = asyncio.get_running_loop()
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = _Watchdog()
    return watchdog


class _Hub:
    """This process's subscription to the queue groups.

    Ticket events are the bulk of the traffic, so they are received and decoded once per
    process, not once per socket: the hub's one channel joins each queue group that any local
    socket needs, and hands every event to the local sockets of that group with a plain call.
    (With the pub/sub layer, each socket in a group would otherwise wake up, decode the same
    message and dispatch it.) Session, user and presence messages, which are rare, still
    reach each socket's own channel.
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[DashboardConsumer]] = {}
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None

    async def join(self, group: str, socket: DashboardConsumer) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.task = asyncio.get_running_loop().create_task(self._listen(self.channel))
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
                await self.layer.group_discard(group, self.channel)
            if not self.members and self.task is not None:
                self.task.cancel()  # the layer unsubscribes the channel as receive() ends
                self.task = self.channel = None

    async def _listen(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except Exception:  # keep serving: a broken message must not end live updates
                logger.exception("could not receive a ticket event")
                await asyncio.sleep(1)
                continue
            for socket in tuple(self.members.get(message.get("group", ""), ())):
                try:
                    socket.deliver(message)
                except Exception:  # one socket's trouble must not stop the others' events
                    logger.exception("could not deliver %s", message.get("type"))


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()


def _hub(layer: Any) -> _Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = _Hub(layer)
    return hub


# --- The consumer ---------------------------------------------------------------------------


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
            await _refuse(self, verdict, self.scope.get("user"))
            return
        self.admission = verdict
        try:
            await self._follow(self._access_groups(verdict.queue_ids))
            await self._join({session_group(verdict.session_key), user_group(verdict.user_id)})
        except BaseException:
            await self._forget_groups()  # the socket dies here: leave nothing behind
            raise
        await self.accept()
        self.accepted = True
        _watchdog().add(self)
        await database_sync_to_async(_count_open)(1)
        await self.send(
            text_data=to_json(
                {"type": "hello", "user_id": verdict.user_id, "queues": self._queue_list()}
            )
        )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if not self.accepted:
            return
        _watchdog().discard(self)
        for task in (self._flush_task, self._presence_task):
            if task is not None:
                task.cancel()
        await self._unwatch()
        await self._forget_groups()
        await database_sync_to_async(_count_open)(-1)

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
        await self._unfollow(set(self.queue_groups))
        await self._leave(set(self.joined))

    async def _follow(self, groups: set[str]) -> None:
        hub = _hub(self.channel_layer)
        for group in groups - self.queue_groups:
            await hub.join(group, self)
            self.queue_groups.add(group)

    async def _unfollow(self, groups: set[str]) -> None:
        hub = _hub(self.channel_layer)
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
        verdict = await database_sync_to_async(_reload_access)(self.admission.user_id)
        if isinstance(verdict, Refusal):
            await self.end(verdict.code, verdict.reason)
            return
        wanted = self._access_groups(verdict)
        await self._unfollow(self.queue_groups - wanted)
        await self._follow(wanted)
        self.admission = replace(self.admission, queue_ids=verdict)
        if self.watching is not None:
            queue_id = await database_sync_to_async(_ticket_queue)(self.watching)
            if queue_id is None or not self.can_see_queue(queue_id):
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
        queue_id = await database_sync_to_async(_ticket_queue)(ticket_id)
        if queue_id is None or not self.can_see_queue(queue_id) or self.closing:
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
