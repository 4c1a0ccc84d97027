"""Redis down under open sockets: they are closed with 4503 (the page shows "reconnecting"),
handshakes meanwhile are refused cleanly (no 500), and once Redis is back the first handshake
works and events flow again. A real redis-server of the test's own is stopped and restarted."""

from __future__ import annotations

import pytest

from tests.live.conftest import WAIT, close_code, events, live_session, open_socket, run, socket
from tests.redisserver import redis_server  # noqa: F401 (fixture)
from tickets import services
from tickets.live.admission import CLOSE_UNAVAILABLE
from tickets.live.registry import open_count

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def own_layer(settings, redis_server):  # noqa: F811
    settings.LIVE_LAYER_CHECK_SECONDS = 1
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "prefix": "h12b-outage."},
        }
    }
    return redis_server


async def test_sockets_are_told_they_are_offline_and_reconnect_after_a_restart(
    agent, queue_a, own_layer
):
    key = await run(live_session, agent)
    communicator = await open_socket(key)
    own_layer.stop()
    assert await close_code(communicator, timeout=5) == CLOSE_UNAVAILABLE
    assert open_count() == 0

    # While Redis is down a handshake is refused with 4503, not answered with a 500.
    refused = socket(key)
    connected, code = await refused.connect(timeout=WAIT)
    assert (connected, code) == (False, CLOSE_UNAVAILABLE)
    await refused.disconnect()

    own_layer.start()
    back = await open_socket(key)  # the first handshake after the restart works
    ticket = await run(services.ticket_create, actor=agent, queue=queue_a, subject="Back again")
    [event] = await events(back)
    assert event["id"] == ticket.pk
    await back.disconnect()
    assert open_count() == 0
