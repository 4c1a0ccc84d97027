"""Handshake floods: sockets capped per session and per user, handshakes rate-limited per
user and per address, every exit path cleaned up, and the open-sockets gauge exact."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.db import connections

from audit.models import SecurityEvent
from tests.live.conftest import WAIT, live_session, open_socket, run, socket
from tickets.live.admission import CLOSE_LOGIN_REQUIRED, CLOSE_TOO_MANY
from tickets.live.hub import process_hub, process_watchdog
from tickets.live.registry import open_count, registry

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def refusal(session_key: str | None) -> int | None:
    """The close code of a refused handshake (None if it opened: then it is closed again)."""
    communicator = socket(session_key)
    connected, code = await communicator.connect(timeout=WAIT)
    await communicator.disconnect()
    return None if connected else code


def reasons() -> list[str]:
    events = SecurityEvent.objects.filter(action="websocket_rejected").order_by("seq")
    return [event.details["reason"] for event in events]


async def test_sockets_are_capped_per_session(agent, settings):
    settings.LIVE_MAX_SOCKETS_PER_SESSION = 2
    key = await run(live_session, agent)
    first, second = await open_socket(key), await open_socket(key)
    assert await refusal(key) == CLOSE_TOO_MANY
    assert await run(reasons) == ["too_many_sockets_session"]
    await first.disconnect()
    third = await open_socket(key)  # a closed socket frees its place
    assert open_count() == 2
    await second.disconnect()
    await third.disconnect()
    assert open_count() == 0


async def test_sockets_are_capped_per_user_across_sessions(agent, settings):
    settings.LIVE_MAX_SOCKETS_PER_USER = 3
    keys = [await run(live_session, agent) for _ in range(2)]
    sockets = [await open_socket(keys[0]), await open_socket(keys[0]), await open_socket(keys[1])]
    assert await refusal(keys[1]) == CLOSE_TOO_MANY
    assert await run(reasons) == ["too_many_sockets_user"]
    for communicator in sockets:
        await communicator.disconnect()
    assert open_count() == 0


async def test_handshakes_are_rate_limited_per_user(agent, settings):
    settings.LIVE_HANDSHAKES_PER_MINUTE_PER_USER = 3
    key = await run(live_session, agent)
    codes = [await refusal(key) for _ in range(4)]
    assert codes == [None, None, None, CLOSE_TOO_MANY]
    assert await run(reasons) == ["handshake_rate_user"]


async def test_handshakes_are_rate_limited_per_address_before_any_session_work(db, settings):
    settings.LIVE_HANDSHAKES_PER_MINUTE_PER_IP = 2
    codes = [await refusal(None) for _ in range(3)]
    assert codes == [CLOSE_LOGIN_REQUIRED, CLOSE_LOGIN_REQUIRED, CLOSE_TOO_MANY]


async def test_a_killed_application_instance_leaves_nothing_behind(agent, queue_a):
    # daphne cancels an instance that does not finish in time: disconnect() never runs.
    communicator = await open_socket(await run(live_session, agent))
    assert open_count() == 1
    communicator.future.cancel()
    await asyncio.sleep(0.3)
    assert open_count() == 0
    assert not registry.per_user and not registry.per_session
    assert not process_watchdog().sockets
    hub = process_hub(get_channel_layer())
    assert not hub.members and hub.channel is None
    await run(connections.close_all)  # the killed instance's thread never closed its own


async def test_a_concurrent_flood_opens_only_the_cap_and_the_gauge_stays_exact(agent, settings):
    settings.LIVE_MAX_SOCKETS_PER_SESSION = 5
    key = await run(live_session, agent)
    flood = [socket(key) for _ in range(12)]
    results = await asyncio.gather(*(c.connect(timeout=WAIT) for c in flood))
    assert sorted(code for connected, code in results if not connected) == [CLOSE_TOO_MANY] * 7
    assert open_count() == 5
    for communicator in flood:
        await communicator.disconnect()
    assert open_count() == 0
