"""Across processes: two daphne servers share PostgreSQL and Redis; a change made through
one reaches a socket held by the other (RedisPubSubChannelLayer). The production layout:
pages through gunicorn, sockets through daphne, two of each."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests.live.conftest import live_session
from tests.live.daphne import daphne, gunicorn

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
