"""A mention reaches the mentioned colleague's open sockets, and nobody else's."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.live.conftest import events, live_session, nothing_more, open_socket, run
from tickets import services

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def test_a_mentioned_colleague_is_told_live_and_an_outsider_is_not(
    agent, agent_b, queue_a, ticket_a
):
    carol = await run(make_user, "carol", "agent")
    await run(queue_a.members.add, carol)
    carols = await open_socket(await run(live_session, carol))
    bobs = await open_socket(await run(live_session, agent_b))
    comment = await run(
        services.comment_add,
        actor=agent,
        ticket=ticket_a,
        body="@carol @bob have a look",
        is_internal=True,
    )
    received = [e for e in await events(carols) if e["type"] == "mention"]
    while not received:
        received = [e for e in await events(carols) if e["type"] == "mention"]
    [mention] = received
    assert mention["ref"] == ticket_a.reference
    assert mention["comment"] == comment.pk
    assert mention["by"] == "alice"
    assert mention["unread"] == 1
    assert "have a look" not in str(mention)  # ids and names only, never the note
    assert await nothing_more(bobs)
    await carols.disconnect()
    await bobs.disconnect()
