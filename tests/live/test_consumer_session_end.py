"""A socket lives no longer than its session: logout, revocation, deactivation, expiry,
a password change or a removed second factor close it within seconds."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from accounts import session_policy, signals
from accounts.models import TOTPDevice
from accounts.session_store import SessionStore
from tests.live.conftest import close_code, live_session, nothing_more, open_socket, run
from tickets.live.admission import CLOSE_FORBIDDEN, CLOSE_LOGIN_REQUIRED

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def quick_checks(settings):
    settings.LIVE_SESSION_CHECK_SECONDS = 1


def log_out(session_key: str) -> int:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client.post("/accounts/logout/").status_code


async def test_logging_out_closes_the_sockets_of_that_session_only(agent):
    first = await run(live_session, agent)
    second = await run(live_session, agent)
    socket = await open_socket(first)
    other_tab_elsewhere = await open_socket(second)
    assert await run(log_out, first) == 302
    assert await close_code(socket) == CLOSE_LOGIN_REQUIRED
    assert await nothing_more(other_tab_elsewhere)
    await other_tab_elsewhere.disconnect()


async def test_revoking_a_session_closes_its_sockets(agent):
    key = await run(live_session, agent)
    socket = await open_socket(key)
    await run(signals.announce_sessions_ended, [key], reason="revoked")
    assert await close_code(socket) == CLOSE_LOGIN_REQUIRED


async def test_deactivating_a_user_closes_all_her_sockets(agent):
    sockets = [await open_socket(await run(live_session, agent)) for _ in range(2)]
    await run(signals.announce_user_sessions_ended, agent.pk, reason="deactivated")
    for socket in sockets:
        assert await close_code(socket) == CLOSE_LOGIN_REQUIRED


async def test_an_idle_session_closes_its_socket_within_seconds(agent, quick_checks):
    key = await run(live_session, agent)
    socket = await open_socket(key)

    def go_idle():
        session = SessionStore(key)
        session[session_policy.LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_SECONDS - 1
        session.save()

    await run(go_idle)
    assert await close_code(socket, timeout=3) == CLOSE_LOGIN_REQUIRED


async def test_a_deleted_session_closes_its_socket_even_without_a_message(agent, quick_checks):
    key = await run(live_session, agent)
    socket = await open_socket(key)
    sessions = SessionStore.get_model_class().objects
    await run(sessions.filter(session_key=key).delete)
    assert await close_code(socket, timeout=3) == CLOSE_LOGIN_REQUIRED


async def test_deactivating_a_user_closes_her_sockets_at_once(agent):
    socket = await open_socket(await run(live_session, agent))
    agent.is_active = False
    await run(agent.save, update_fields=["is_active"])  # the accounts code ends her sessions
    assert await close_code(socket, timeout=1) == CLOSE_LOGIN_REQUIRED


async def test_a_deactivated_user_is_found_by_the_periodic_check(agent, quick_checks):
    socket = await open_socket(await run(live_session, agent))
    # A bulk update: no signal, no message; the next check finds it.
    await run(type(agent).objects.filter(pk=agent.pk).update, is_active=False)
    assert await close_code(socket, timeout=3) == CLOSE_FORBIDDEN


async def test_a_password_change_closes_older_sessions(agent, quick_checks):
    socket = await open_socket(await run(live_session, agent))

    def change_password():
        agent.set_password("a new long passphrase 42")
        agent.save(update_fields=["password"])

    await run(change_password)
    assert await close_code(socket, timeout=3) == CLOSE_LOGIN_REQUIRED


async def test_removing_the_second_factor_closes_the_socket(agent, quick_checks):
    socket = await open_socket(await run(live_session, agent))
    await run(TOTPDevice.objects.filter(user=agent).delete)
    assert await close_code(socket, timeout=3) == CLOSE_LOGIN_REQUIRED


async def test_a_valid_session_stays_open_through_the_checks(agent, quick_checks):
    socket = await open_socket(await run(live_session, agent))
    assert await nothing_more(socket, timeout=2.5)
    await socket.disconnect()
