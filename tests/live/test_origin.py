"""In production a websocket's Origin must be exactly one the site serves: scheme, host, port."""

from __future__ import annotations

import pytest

from tests.live.conftest import WAIT, live_session, run, socket
from tickets.live.admission import CLOSE_FORBIDDEN
from tickets.live.origin import exact_origin

live = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def production_origins(settings):
    settings.PRODUCTION = True
    settings.ALLOWED_HOSTS = ["127.0.0.1", "helpdesk.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://127.0.0.1:8443", "https://*.example.net"]
    return settings


async def opens(session_key: str, origin: str) -> bool:
    communicator = socket(session_key, origin=origin)
    connected, code = await communicator.connect(timeout=WAIT)
    await communicator.disconnect()
    assert connected or code == CLOSE_FORBIDDEN
    return connected


@live[0]
@live[1]
@pytest.mark.parametrize(
    "origin",
    ["https://127.0.0.1", "https://127.0.0.1:443", "https://127.0.0.1:8443", "HTTPS://127.0.0.1"],
)
async def test_in_production_it_accepts_the_origins_the_site_serves(
    agent, production_origins, origin
):
    key = await run(live_session, agent)
    assert await opens(key, origin)


@live[0]
@live[1]
@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1",  # plain http
        "https://127.0.0.1:4444",  # another port
        "http://127.0.0.1:8443",
        "https://a.example.net",  # a wildcard grants nothing here
        "https://127.0.0.1.evil.example",
        "https://user@127.0.0.1",
        "null",
        "https://127.0.0.1:99999",
    ],
)
async def test_in_production_it_refuses_another_scheme_or_port(agent, production_origins, origin):
    key = await run(live_session, agent)
    assert not await opens(key, origin)


def test_exact_origin_spells_out_the_default_port():
    assert exact_origin("https://Helpdesk.example.org/") == "https://helpdesk.example.org:443"
    assert exact_origin("http://h:80") == "http://h:80"
    assert exact_origin("ftp://h") is None
    assert exact_origin("https://h/path") is None
