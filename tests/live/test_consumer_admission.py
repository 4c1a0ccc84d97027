"""Who may open /ws/dashboard/: refusals happen before accept, with a 44xx close code and a
security event, through the real ASGI application (Origin check, cookies, session, auth)."""

from __future__ import annotations

import time

import pytest
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import session_policy
from accounts.models import TOTPDevice
from accounts.session_store import SessionStore
from audit.models import SecurityEvent
from tests.conftest import make_user
from tests.live.conftest import WAIT, live_session, open_socket, run, socket
from tickets.live.admission import CLOSE_FORBIDDEN, CLOSE_LOGIN_REQUIRED
from tickets.live.registry import open_count

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def refused_with(session_key: str | None, **kwargs: object) -> int:
    communicator = socket(session_key, **kwargs)
    connected, code = await communicator.connect(timeout=WAIT)
    await communicator.disconnect()
    assert not connected
    return code


def rejections() -> list[dict]:
    return list(
        SecurityEvent.objects.filter(action="websocket_rejected").values(
            "details", "actor_username", "resource"
        )
    )


def edit_session(key: str, **changes: object) -> None:
    session = SessionStore(key)
    for name, value in changes.items():
        if value is None:
            session.pop(name, None)
        else:
            session[name] = value
    session.save()


async def test_it_accepts_an_agent_with_a_verified_second_factor(agent):
    key = await run(live_session, agent)
    communicator = await open_socket(key)
    assert open_count() == 1
    await communicator.disconnect()
    assert open_count() == 0


async def test_it_refuses_an_anonymous_socket_and_records_it(db):
    assert await refused_with(None) == CLOSE_LOGIN_REQUIRED
    [event] = await run(rejections)
    assert event["details"] == {"reason": "anonymous", "code": CLOSE_LOGIN_REQUIRED}
    assert event["resource"] == "/ws/dashboard/"


async def test_it_refuses_a_session_without_a_verified_second_factor(agent):
    key = await run(live_session, agent, verified=False)
    assert await refused_with(key) == CLOSE_LOGIN_REQUIRED
    [event] = await run(rejections)
    assert event["details"]["reason"] == "no_second_factor"
    assert event["actor_username"] == "alice"


async def test_it_refuses_a_device_that_belongs_to_someone_else(agent, agent_b):
    key = await run(live_session, agent)
    other = await run(
        TOTPDevice.objects.create,
        user=agent_b,
        name="bob's phone",
        confirmed=True,
        key=TOTPDevice.new_key(),
    )
    await run(edit_session, key, **{DEVICE_ID_SESSION_KEY: other.persistent_id})
    assert await refused_with(key) == CLOSE_LOGIN_REQUIRED


async def test_it_refuses_an_unconfirmed_device(agent):
    key = await run(live_session, agent)
    await run(TOTPDevice.objects.filter(user=agent).update, confirmed=False)
    assert await refused_with(key) == CLOSE_LOGIN_REQUIRED


async def test_it_refuses_an_inactive_user_whose_session_survived(agent):
    key = await run(live_session, agent)
    # A bulk update skips the accounts code that ends a deactivated user's sessions: the
    # consumer must refuse on its own.
    await run(type(agent).objects.filter(pk=agent.pk).update, is_active=False)
    assert await refused_with(key) == CLOSE_FORBIDDEN
    [event] = await run(rejections)
    assert event["details"]["reason"] == "inactive"


async def test_it_refuses_a_user_without_a_role(db):
    outsider = await run(make_user, "olga")
    key = await run(live_session, outsider)
    assert await refused_with(key) == CLOSE_FORBIDDEN
    [event] = await run(rejections)
    assert event["details"]["reason"] == "no_role"


async def test_it_refuses_an_idle_session(agent):
    key = await run(live_session, agent)
    long_ago = int(time.time()) - 31 * 60
    await run(edit_session, key, **{session_policy.LAST_SEEN: long_ago})
    assert await refused_with(key) == CLOSE_LOGIN_REQUIRED
    [event] = await run(rejections)
    assert event["details"]["reason"] == "session_idle"


async def test_it_refuses_a_session_past_its_absolute_limit(agent):
    key = await run(live_session, agent)
    await run(
        edit_session,
        key,
        **{
            session_policy.AUTH_AT: int(time.time()) - 9 * 3600,
            session_policy.LAST_SEEN: int(time.time()),
        },
    )
    assert await refused_with(key) == CLOSE_LOGIN_REQUIRED


async def test_it_refuses_a_foreign_origin_even_with_a_valid_session(agent):
    key = await run(live_session, agent)
    assert await refused_with(key, origin="https://evil.example") == CLOSE_FORBIDDEN
    [event] = await run(rejections)
    assert event["details"] == {
        "reason": "origin",
        "code": CLOSE_FORBIDDEN,
        "origin": "https://evil.example",
    }


async def test_it_refuses_a_socket_without_an_origin(agent):
    key = await run(live_session, agent)
    assert await refused_with(key, origin=None) == CLOSE_FORBIDDEN


async def test_it_records_a_retrying_client_once_per_minute(db):
    for _ in range(3):
        assert await refused_with(None) == CLOSE_LOGIN_REQUIRED
    assert len(await run(rejections)) == 1


async def test_refused_sockets_are_not_counted_as_open(db):
    await refused_with(None)
    assert open_count() == 0
