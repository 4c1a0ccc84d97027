"""What a browser may send: pings and watch requests, small and not too many."""

from __future__ import annotations

import pytest

from tests.live.conftest import close_code, live_session, nothing_more, open_socket, run
from tickets.live.consumer import CLIENT_MESSAGES_PER_MINUTE, CLOSE_TOO_MANY_MESSAGES

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def test_a_ping_gets_a_pong(agent):
    socket = await open_socket(await run(live_session, agent))
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}
    await socket.disconnect()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"type": "watch", "ticket": "1 OR 1=1"}',
        '{"type": "nope"}',
        "x" * 5000,
    ],
)
async def test_malformed_messages_are_ignored(agent, text):
    socket = await open_socket(await run(live_session, agent))
    await socket.send_to(text_data=text)
    assert await nothing_more(socket, timeout=0.3)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}
    await socket.disconnect()


async def test_a_flooding_client_is_closed(agent):
    socket = await open_socket(await run(live_session, agent))
    for _ in range(CLIENT_MESSAGES_PER_MINUTE + 1):
        await socket.send_to(text_data="{}")
    assert await close_code(socket) == CLOSE_TOO_MANY_MESSAGES
