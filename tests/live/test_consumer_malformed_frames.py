"""Whatever a client sends down the dashboard socket (binary, not JSON, huge, unknown types,
bad ticket ids, raw ASGI oddities), the consumer stays up, answers nothing to the junk,
still answers a ping, and leaves nothing behind when the socket closes: no group in the
channel layer, no hub or watchdog entry, no task, no open-socket count."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from channels.layers import get_channel_layer

from tests.live.conftest import WAIT, close_code, live_session, nothing_more, open_socket, run
from tickets.live import hub as live_hub
from tickets.live.consumer import (
    CLIENT_MESSAGES_PER_MINUTE,
    CLOSE_SERVER_ERROR,
    CLOSE_TOO_MANY_MESSAGES,
)
from tickets.live.registry import open_count

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Tasks the consumer and the hub start run coroutines defined in these files.
LIVE_DIR = str(Path(live_hub.__file__).parent)
JUNK_TEXT = [
    " ",
    "\x00",
    "not json",
    "{",
    "null",
    "true",
    "1e999",
    "[1, 2]",
    '"ping"',
    "[" * 200 + "]" * 200,
    '{"type": null}',
    '{"type": ["ping"]}',
    '{"type": {"$ne": 1}}',
    '{"type": 1}',
    '{"type": "nope"}',
    '{"type": "hello"}',
    '{"type": "batch", "events": []}',
    '{"type": "session.ended"}',
    '{"type": "ping\\u0000"}',
    '{"type": "\\ud800"}',
    '{"type": "watch"}',
    '{"type": "watch", "ticket": "1"}',
    '{"type": "watch", "ticket": true}',
    '{"type": "watch", "ticket": 1.0}',
    '{"type": "watch", "ticket": NaN}',
    '{"type": "watch", "ticket": Infinity}',
    '{"type": "watch", "ticket": -1}',
    '{"type": "watch", "ticket": 0}',
    '{"type": "watch", "ticket": 2147483648}',
    '{"type": "watch", "ticket": 9223372036854775807}',
    '{"type": "watch", "ticket": 99999999999999999999999999999}',
    '{"type": "watch", "ticket": [1]}',
    '{"type": "unwatch", "ticket": "everything"}',
    '{"type": "ping", "type": "watch", "ticket": 1}',
    "x" * 600,
    '{"type": "ping", "pad": "' + "x" * 1024 * 1024 + '"}',
    "\u202e😀\ud800",
]
JUNK_BYTES = [b"\x00", b"\xff\xfe\xfd", b'{"type": "ping"}', b"\x00" * 1024 * 1024]


def _layer_groups() -> dict[str, set[str]]:
    layer = get_channel_layer()
    loop_layer = layer._get_layer() if hasattr(layer, "_get_layer") else layer
    return {group: set(channels) for group, channels in loop_layer.groups.items() if channels}


def _our_tasks() -> list[asyncio.Task]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and LIVE_DIR in str(task.get_coro().cr_code.co_filename)
    ]


async def _pong(socket) -> None:
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=WAIT) == {"type": "pong"}


async def _settle() -> None:
    for _ in range(5):  # cancelled tasks finish on the next turns of the loop
        await asyncio.sleep(0.05)


async def assert_nothing_left_behind() -> None:
    await _settle()
    assert _layer_groups() == {}
    loop = asyncio.get_running_loop()
    hub, watchdog = live_hub.hubs.get(loop), live_hub.watchdogs.get(loop)
    assert hub is None or not hub.members
    assert watchdog is None or not watchdog.sockets
    assert _our_tasks() == []
    assert open_count() == 0


async def test_junk_text_frames_get_no_answer_and_break_nothing(agent, ticket_b):
    socket = await open_socket(await run(live_session, agent))
    # Fewer than the flood limit: each frame counts as one message.
    for text in [*JUNK_TEXT, f'{{"type": "watch", "ticket": {ticket_b.pk}}}']:
        await socket.send_to(text_data=text)
    for empty in ({"text": ""}, {"bytes": b""}):  # the communicator refuses to send these
        await socket.send_input({"type": "websocket.receive", **empty})
    assert await nothing_more(socket, timeout=0.5)
    assert not socket.future.done()  # the consumer is still running
    await _pong(socket)
    await socket.disconnect()
    await assert_nothing_left_behind()


async def test_binary_frames_are_ignored(agent):
    socket = await open_socket(await run(live_session, agent))
    for data in JUNK_BYTES:
        await socket.send_to(bytes_data=data)
    assert await nothing_more(socket, timeout=0.3)
    await _pong(socket)
    await socket.disconnect()
    await assert_nothing_left_behind()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "websocket.receive", "text": '{"type": "ping"}', "bytes": b"\x00"},
        {"type": "websocket.receive", "text": json.dumps({"type": "watch", "ticket": 1})[:-1]},
        {"type": "websocket.receive", "text": None, "bytes": b"{}"},
    ],
    ids=["text-and-bytes", "truncated", "null-text"],
)
async def test_odd_asgi_receive_messages_do_not_crash_the_consumer(agent, message):
    socket = await open_socket(await run(live_session, agent))
    await socket.send_input(message)
    await asyncio.sleep(0.2)
    assert not socket.future.done()
    while not await socket.receive_nothing(timeout=0.2):
        frame = json.loads((await socket.receive_output())["text"])
        assert frame == {"type": "pong"}  # the one answer any of these may get
    await _pong(socket)
    await socket.disconnect()
    await assert_nothing_left_behind()


async def test_a_handler_that_fails_closes_the_socket_and_cleans_up(agent, ticket_a):
    """A receive message with no payload at all (no ASGI server sends one) makes channels'
    handler fail, like a database outage during a watch would: the socket closes with 1011
    and its disconnect cleans up, instead of the consumer dying with its entries left in the
    process's hub and watchdog."""
    socket = await open_socket(await run(live_session, agent))
    await socket.send_json_to({"type": "watch", "ticket": ticket_a.pk})
    await _pong(socket)
    await socket.send_input({"type": "websocket.receive"})
    assert await close_code(socket) == CLOSE_SERVER_ERROR
    await assert_nothing_left_behind()


async def test_a_watched_ticket_is_let_go_when_the_socket_drops(agent, ticket_a):
    socket = await open_socket(await run(live_session, agent))
    await socket.send_json_to({"type": "watch", "ticket": ticket_a.pk})
    await _pong(socket)  # the watch has been handled: the ticket's group is joined
    assert any("ticket" in group for group in _layer_groups())
    await socket.disconnect(code=1006)  # abnormal closure, as from a dropped connection
    await assert_nothing_left_behind()


async def test_a_flood_of_junk_closes_the_socket_and_cleans_up(agent):
    socket = await open_socket(await run(live_session, agent))
    for index in range(CLIENT_MESSAGES_PER_MINUTE + 5):
        await socket.send_to(text_data=JUNK_TEXT[index % len(JUNK_TEXT)])
    assert await close_code(socket) == CLOSE_TOO_MANY_MESSAGES
    await assert_nothing_left_behind()


async def test_many_sockets_sending_junk_leave_nothing_behind(agent, manager):
    sockets = [await open_socket(await run(live_session, user)) for user in (agent, manager, agent)]
    for socket in sockets:
        for text in JUNK_TEXT[:20]:
            await socket.send_to(text_data=text)
        await socket.send_to(bytes_data=b"\x00")
    for socket in sockets:
        await _pong(socket)
    for socket in sockets:
        await socket.disconnect()
    await assert_nothing_left_behind()
