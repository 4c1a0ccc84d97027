"""Live dashboard fixtures: verified login sessions and websocket communicators that go
through the real ASGI application (Origin check, session cookie, auth, consumer)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import throttle
from accounts.session_store import SessionStore
from tests.conftest import login

ORIGIN = "http://127.0.0.1:8000"
# How long a test waits for something that should arrive (the coalescing window is 100 ms).
WAIT = 3


def live_session(user: Any, *, verified: bool = True) -> str:
    """A logged-in session key for the user, made by tests.conftest.login(): both login steps,
    a confirmed authenticator as the verified second factor (verified=False: the password
    step only)."""
    client = Client()
    login(client, user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    if not verified:
        session = SessionStore(key)
        session.pop(DEVICE_ID_SESSION_KEY)
        session.save()
    return key


def socket(session_key: str | None = None, *, origin: str | None = ORIGIN) -> WebsocketCommunicator:
    """A websocket to /ws/dashboard/ through ticketsystem.asgi.application."""
    from ticketsystem.asgi import application

    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


async def open_socket(session_key: str) -> WebsocketCommunicator:
    """A connected socket, its hello frame read."""
    communicator = socket(session_key)
    connected, code = await communicator.connect(timeout=WAIT)
    assert connected, f"refused with {code}"
    hello = await communicator.receive_json_from(timeout=WAIT)
    assert hello["type"] == "hello"
    assert set(hello) == {"type", "user_id", "queues"}
    return communicator


async def events(
    communicator: WebsocketCommunicator, *, timeout: float = WAIT
) -> list[dict[str, Any]]:
    """The events of the next batch frame."""
    frame = await communicator.receive_json_from(timeout=timeout)
    assert frame["type"] == "batch", frame
    return frame["events"]


async def nothing_more(communicator: WebsocketCommunicator, timeout: float = 0.6) -> bool:
    return await communicator.receive_nothing(timeout=timeout)


def run(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call sync (database) code from an async test, in the thread consumers use too."""
    return database_sync_to_async(function)(*args, **kwargs)


@pytest.fixture(autouse=True)
def _fresh_live_cache() -> None:
    """Refusal audit throttling and handshake counts start from zero in each test."""
    for ip in ("-", "127.0.0.1"):
        for reason in (
            "anonymous",
            "inactive",
            "no_role",
            "no_second_factor",
            "origin",
            "session_idle",
            "session_absolute",
            "handshake_rate_ip",
            "handshake_rate_user",
            "too_many_sockets_session",
            "too_many_sockets_user",
        ):
            cache.delete(f"ws:rejected:{ip}:{reason}")
    # Handshake counts: each test starts with a fresh minute.
    client = cache._cache.get_client(None, write=True)
    for key in client.scan_iter(cache.make_key("throttle:ws_*")):
        client.delete(key)
    throttle.local_counts.counts.clear()


async def close_code(communicator: WebsocketCommunicator, *, timeout: float = WAIT) -> int:
    """Read until the server closes the socket; its close code. Then completes the closing
    handshake as a browser would, so the consumer runs its disconnect()."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            await communicator.disconnect(code=output.get("code", 1000))
            return output.get("code", 1000)
