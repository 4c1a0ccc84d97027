"""Who may hold a live socket: admission before ``accept()``, the periodic re-check of open
sockets, and the audit record of every refusal.

The session rules are accounts/session_policy.py's (the same as for every HTTP request);
what a socket may see is tickets/access.py's. Everything here is sync: it reads the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from redis import RedisError

from accounts import session_policy, throttle
from tickets import access
from ticketsystem.roles import ROLES, is_staff_member

logger = logging.getLogger(__name__)

# Close codes (the 4000-4999 range is the application's). Before accept() a browser only sees
# a failed handshake (HTTP 403); live.js then asks the resync endpoint whether it is logged in.
CLOSE_LOGIN_REQUIRED = 4401  # anonymous, no second factor, session ended: log in again
CLOSE_FORBIDDEN = 4403  # foreign Origin, inactive user, no role
CLOSE_TOO_MANY = 4429  # handshake rate, sockets per session or user, messages per minute
CLOSE_UNAVAILABLE = 4503  # the channel layer (Redis) is unavailable: reconnect and resync later

# What a channel layer raises when Redis is unreachable or restarted under it (timeouts
# included: TimeoutError is an OSError).
LAYER_ERRORS = (RedisError, OSError)

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


def scope_origin(scope: dict[str, Any]) -> str:
    """The handshake's Origin header ("" without one)."""
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
    except Exception:  # no cache: at most one per window and process
        window = int(time.time() // REJECTION_AUDIT_WINDOW)
        first = throttle.local_counts.incr(f"ws:rejected:{ip}:{refusal.reason}", window) == 1
    if not first:
        return
    details: dict[str, Any] = {"reason": refusal.reason, "code": refusal.code}
    if refusal.reason == "origin":
        details["origin"] = scope_origin(scope)[:200]
    user = user if getattr(user, "is_authenticated", False) else None
    record_event(
        "websocket_rejected",
        actor=user,
        request=request,
        resource=scope.get("path", "")[:200],
        details=details,
    )


async def refuse(consumer: AsyncWebsocketConsumer, refusal: Refusal, user: Any = None) -> None:
    """Record the refusal, then close the socket with its code."""
    logger.info("websocket refused: %s", refusal.reason)
    try:
        await database_sync_to_async(record_rejection)(consumer.scope, refusal, user)
    except Exception:  # the refusal stands even if it cannot be recorded
        logger.exception("could not record a websocket refusal")
    await consumer.close(code=refusal.code)


def _login_refusal(reason: str) -> Refusal:
    """The refusal for a session_policy.login_end_reason() answer."""
    if reason == "inactive":
        return Refusal(CLOSE_FORBIDDEN, "inactive")
    if reason in ("password_changed", "no_second_factor"):
        return Refusal(CLOSE_LOGIN_REQUIRED, reason)
    return Refusal(CLOSE_LOGIN_REQUIRED, f"session_{reason}")  # ended, absolute, idle


def _queue_ids(user: Any) -> frozenset[int] | None:
    ids = access.visible_queue_ids(user)
    return None if ids is None else frozenset(ids)


def handshake_refusal(scope: dict[str, Any]) -> Refusal | None:
    """Too many handshakes this minute from this address or this user (shared through the
    cache; per process while it is down)?"""
    from ticketsystem.clientip import client_ip

    ip = client_ip(_ScopeRequest(scope)) or "-"
    if throttle.hit("ws_ip", ip, rate=settings.LIVE_HANDSHAKES_PER_MINUTE_PER_IP):
        return Refusal(CLOSE_TOO_MANY, "handshake_rate_ip")
    user = scope["user"]
    if user.is_authenticated and throttle.hit(
        "ws_user", user.pk, rate=settings.LIVE_HANDSHAKES_PER_MINUTE_PER_USER
    ):
        return Refusal(CLOSE_TOO_MANY, "handshake_rate_user")
    return None


def admit(scope: dict[str, Any]) -> Admission | Refusal:
    """May this socket open? Reads the session and user that AuthMiddleware resolved."""
    too_many = handshake_refusal(scope)
    if too_many is not None:
        return too_many
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
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    reason = session_policy.login_end_reason(
        session,
        user_id=user.pk,
        user=user,
        device_owners=session_policy.verified_device_owners([device_id]),
    )
    if reason:
        return _login_refusal(reason)
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

    A few queries whatever the number of sockets: sessions, users, roles, and one per
    device model.
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
    devices = session_policy.verified_device_owners(device_id for _, _, device_id in sockets)
    ended: dict[str, Refusal] = {}
    for key, user_id, device_id in sockets:
        data = sessions.get(key)
        user = users.get(user_id)
        reason = session_policy.login_end_reason(
            data, user_id=user_id, user=user, device_owners=devices
        )
        # Past login_end_reason, the session and the user exist (else "ended", "inactive").
        if reason:
            ended[key] = _login_refusal(reason)
        elif data.get(DEVICE_ID_SESSION_KEY) != device_id:  # not the device it was admitted with
            ended[key] = Refusal(CLOSE_LOGIN_REQUIRED, "no_second_factor")
        elif user_id not in with_role and not user.is_superuser:
            ended[key] = Refusal(CLOSE_FORBIDDEN, "no_role")
    return ended


def reload_access(user_id: int) -> frozenset[int] | Refusal | None:
    """An open socket's queues after a membership or role change (None: every queue)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return Refusal(CLOSE_FORBIDDEN, "inactive")
    if not is_staff_member(user):
        return Refusal(CLOSE_FORBIDDEN, "no_role")
    return _queue_ids(user)
