"""Per-user throttle on writing and searching endpoints: 429 with Retry-After past the rate."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from tests.conftest import login

RATES = {"post": 3, "search": 2}


def at_second(second: int) -> datetime:
    now = timezone.now().replace(microsecond=0)
    return now.replace(second=second)


@override_settings(THROTTLE_RATES=RATES)
def test_creating_tickets_is_limited_per_user(client, agent, queue_a):
    login(client, agent)
    data = {"queue": queue_a.pk, "subject": "Printer", "description": "Jammed", "priority": 2}
    with time_machine.travel(at_second(10), tick=False):
        statuses = [client.post("/tickets/new/", data).status_code for _ in range(4)]
        assert statuses == [302, 302, 302, 429]
        response = client.post("/tickets/new/", data)
        assert response["Retry-After"] == "50"
        assert b"Too many requests" in response.content
    assert queue_a.tickets.count() == 3


@override_settings(THROTTLE_RATES=RATES)
def test_the_limit_resets_the_next_minute(client, agent, queue_a, ticket_a):
    login(client, agent)
    url = f"/tickets/{ticket_a.reference}/comment/"
    with time_machine.travel(at_second(30), tick=False) as traveller:
        for _ in range(3):
            assert client.post(url, {"body": "Looking"}).status_code == 302
        assert client.post(url, {"body": "Looking"}).status_code == 429
        traveller.shift(timedelta(seconds=31))
        assert client.post(url, {"body": "Still looking"}).status_code == 302


@override_settings(THROTTLE_RATES=RATES)
def test_one_users_limit_does_not_touch_another(
    client, agent, agent_b, queue_a, ticket_a, ticket_b
):
    login(client, agent)
    other = login(Client(), agent_b)
    with time_machine.travel(at_second(5), tick=False):
        for _ in range(4):
            client.post(f"/tickets/{ticket_a.reference}/comment/", {"body": "x"})
        assert (
            other.post(f"/tickets/{ticket_b.reference}/comment/", {"body": "y"}).status_code == 302
        )


@override_settings(THROTTLE_RATES=RATES)
def test_searching_is_limited_but_browsing_is_not(client, agent, queue_a):
    login(client, agent)
    with time_machine.travel(at_second(0), tick=False):
        assert [client.get("/tickets/?q=printer").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/tickets/").status_code == 200
        assert client.get("/tickets/?status=open").status_code == 200


@override_settings(THROTTLE_RATES={"post": 0, "search": 0})
def test_every_writing_endpoint_is_throttled(client, agent, ticket_a):
    login(client, agent)
    ref = ticket_a.reference
    urls = ["/tickets/new/"] + [
        f"/tickets/{ref}/{action}/"
        for action in ("comment", "assign", "status", "priority", "move", "attachments")
    ]
    for url in urls:
        response = client.post(url, {})
        assert response.status_code == 429, url
        assert response["Retry-After"]
