"""Ending sessions closes their websockets: the messages reach the channel layer (Redis)
groups the dashboard consumer listens on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.test import Client

from tests.conftest import login
from tickets.live.groups import session_group, user_group


def messages_after(groups: list[str], action: Callable[[], Any]) -> list[dict[str, Any]]:
    """Listen on ``groups``, run ``action`` (sync), return what arrived within a second."""

    async def scenario() -> list[dict[str, Any]]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for group in groups:
            await layer.group_add(group, channel)
        await sync_to_async(action)()
        received = []
        try:
            while True:
                received.append(await asyncio.wait_for(layer.receive(channel), timeout=1))
        except TimeoutError:
            pass
        for group in groups:
            await layer.group_discard(group, channel)
        return received

    return async_to_sync(scenario)()


def test_logging_out_closes_the_sessions_websockets(
    client, staff, device, django_capture_on_commit_callbacks
):
    login(client, staff)
    key = client.session.session_key

    def logout():
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/accounts/logout/")

    assert messages_after([session_group(key)], logout) == [
        {"type": "session.ended", "reason": "logout"}
    ]


def test_revoking_other_sessions_closes_their_websockets(
    client, staff, device, django_capture_on_commit_callbacks
):
    other = login(Client(), staff)
    login(client, staff)
    mine, theirs = client.session.session_key, other.session.session_key

    def revoke():
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/accounts/sessions/revoke-others/")

    received = messages_after([session_group(mine), session_group(theirs)], revoke)
    assert received == [{"type": "session.ended", "reason": "revoked"}]


def test_deactivating_a_user_closes_all_their_websockets(
    staff, device, django_capture_on_commit_callbacks
):
    login(Client(), staff)

    def deactivate():
        with django_capture_on_commit_callbacks(execute=True):
            staff.is_active = False
            staff.save(update_fields=["is_active"])

    received = messages_after([user_group(staff.pk)], deactivate)
    assert {"type": "session.ended", "reason": "deactivated"} in received
