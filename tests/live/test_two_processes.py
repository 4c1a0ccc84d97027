"""Across processes: two daphne servers share PostgreSQL and Redis; a change made through
one reaches a socket held by the other (RedisPubSubChannelLayer). The production layout:
pages through gunicorn, sockets through daphne, two of each."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.live.conftest import live_session
from tests.live.daphne import daphne, gunicorn
from tickets.live.admission import CLOSE_LOGIN_REQUIRED

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def socket_to(base: str, session_key: str):
    return connect(
        base.replace("http://", "ws://") + "/ws/dashboard/",
        additional_headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}",
            "Origin": base,
        },
        open_timeout=10,
    )


def next_ticket_event(ws) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] == "batch":
            return frame["events"][0]


def test_a_change_made_through_process_a_reaches_a_socket_on_process_b(agent, ticket_a):
    key = live_session(agent)
    with daphne() as a, daphne() as b:
        assert a.process.pid != b.process.pid
        with socket_to(b.url, key) as on_b, socket_to(a.url, key) as on_a:
            assert json.loads(on_b.recv(timeout=5))["type"] == "hello"
            assert json.loads(on_a.recv(timeout=5))["type"] == "hello"
            page = ticket_a.get_absolute_url()
            status = a.post_form(page, page + "status/", {"status": "pending"}, key)
            assert status == 302
            event = next_ticket_event(on_b)
            assert (event["id"], event["kind"], event["status"]) == (
                ticket_a.pk,
                "status",
                "pending",
            )
            assert event["actor"] == "alice"
            assert next_ticket_event(on_a)["kind"] == "status"


def test_a_change_made_through_either_gunicorn_reaches_sockets_on_both_daphnes(agent, ticket_a):
    key = live_session(agent)
    with (
        gunicorn() as web_a,
        gunicorn() as web_b,
        daphne() as ws_a,
        daphne() as ws_b,
        socket_to(ws_a.url, key) as on_a,
        socket_to(ws_b.url, key) as on_b,
    ):
        assert json.loads(on_a.recv(timeout=5))["type"] == "hello"
        assert json.loads(on_b.recv(timeout=5))["type"] == "hello"
        page = ticket_a.get_absolute_url()
        for web, status in ((web_a, "pending"), (web_b, "open")):
            assert web.post_form(page, page + "status/", {"status": status}, key) == 302
            for ws in (on_a, on_b):
                event = next_ticket_event(ws)
                assert (event["id"], event["status"]) == (ticket_a.pk, status)


def test_a_session_revoked_through_gunicorn_a_closes_its_socket_on_daphne_b(agent):
    """Sessions live in PostgreSQL and "session ended" travels through Redis: no process
    needs to be the one that holds the socket."""
    keep, revoked = live_session(agent), live_session(agent)
    slow_checks = {"LIVE_SESSION_CHECK_SECONDS": "300"}  # so only the event can close it
    with (
        gunicorn() as web_a,
        daphne(env=slow_checks) as ws_b,
        socket_to(ws_b.url, revoked) as on_b,
    ):
        assert json.loads(on_b.recv(timeout=5))["type"] == "hello"
        page = "/accounts/sessions/"
        assert web_a.post_form(page, page + "revoke-others/", {}, keep) == 302
        # At once, through Redis: B's periodic session check would take five minutes.
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                on_b.recv(timeout=5)
        assert closed.value.rcvd.code == CLOSE_LOGIN_REQUIRED
        status, _, _ = web_a.request(
            "GET", "/dashboard/", headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={revoked}"}
        )
        assert status == 302  # and the pages no longer know that session
