"""Who else has a ticket open: presence on the ticket page's socket, limited to people who
may see the ticket, gone when they leave."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.live.conftest import events, live_session, nothing_more, open_socket, run
from tickets import services

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def watch(socket, ticket_id):
    await socket.send_json_to({"type": "watch", "ticket": ticket_id})


async def presence(socket):
    found = [e for e in await events(socket) if e["type"] == "presence"]
    assert found
    return found


async def alice_and_carol_watching(agent, queue_a, ticket_a):
    """Alice (agent) and her new colleague Carol both have ticket_a open and know it."""
    colleague = await run(make_user, "carol", "agent")
    await run(queue_a.members.add, colleague)
    alice = await open_socket(await run(live_session, agent))
    carol = await open_socket(await run(live_session, colleague))
    await watch(alice, ticket_a.pk)
    await watch(carol, ticket_a.pk)
    await presence(alice)  # carol joined
    await presence(carol)  # alice is here
    return alice, carol, colleague


async def test_two_viewers_of_a_ticket_see_each_other_and_the_leaving(agent, queue_a, ticket_a):
    colleague = await run(make_user, "carol", "agent")
    await run(queue_a.members.add, colleague)
    alice = await open_socket(await run(live_session, agent))
    carol = await open_socket(await run(live_session, colleague))
    await watch(alice, ticket_a.pk)
    assert await nothing_more(alice)  # nobody else yet

    await watch(carol, ticket_a.pk)
    [joined] = await presence(alice)
    assert (joined["op"], joined["user"], joined["ticket"]) == ("join", "carol", ticket_a.pk)
    [here] = await presence(carol)
    assert (here["op"], here["user"]) == ("here", "alice")

    await carol.disconnect()
    [left] = await presence(alice)
    assert (left["op"], left["user"]) == ("leave", "carol")
    await alice.disconnect()


async def test_nobody_can_watch_a_ticket_they_cannot_see(agent, agent_b, ticket_a):
    alice = await open_socket(await run(live_session, agent))
    bob = await open_socket(await run(live_session, agent_b))
    await watch(alice, ticket_a.pk)
    await watch(bob, ticket_a.pk)
    assert await nothing_more(alice)
    assert await nothing_more(bob)
    for socket in (alice, bob):
        await socket.disconnect()


async def test_a_viewer_whose_ticket_moves_out_of_sight_stops_being_present(
    manager, agent, queue_a, queue_b, ticket_a
):
    alice = await open_socket(await run(live_session, agent))
    boss = await open_socket(await run(live_session, manager))
    await watch(alice, ticket_a.pk)
    await watch(boss, ticket_a.pk)
    await presence(alice)
    await presence(boss)

    await run(services.ticket_change_queue, actor=manager, ticket=ticket_a, queue=queue_b)
    seen = []
    while not any(e.get("op") == "leave" for e in seen):
        seen += await events(boss)
    assert any(e["type"] == "ticket" and e["kind"] == "queue" for e in seen)
    [left] = [e for e in seen if e.get("op") == "leave"]
    assert left["user"] == "alice"
    for socket in (alice, boss):
        await socket.disconnect()


async def test_presence_is_repeated_while_the_page_stays_open(agent, queue_a, ticket_a, settings):
    settings.LIVE_PRESENCE_SECONDS = 1
    alice, carol, _ = await alice_and_carol_watching(agent, queue_a, ticket_a)
    [again] = await presence(carol)
    assert (again["op"], again["user"], again["ttl"]) == ("here", "alice", 1)
    for socket in (alice, carol):
        await socket.disconnect()


async def test_a_viewer_removed_from_the_queue_stops_being_present_and_hears_nothing(
    agent, queue_a, ticket_a, settings
):
    settings.LIVE_PRESENCE_SECONDS = 1
    alice, carol, colleague = await alice_and_carol_watching(agent, queue_a, ticket_a)

    await run(queue_a.members.remove, colleague)
    seen = []
    for _ in range(5):  # bounded: Carol's own announcements would otherwise go on forever
        seen += await events(alice)
        if any(e.get("op") == "leave" for e in seen):
            break
    assert [e["user"] for e in seen if e.get("op") == "leave"] == ["carol"]
    heard = []
    for _ in range(5):
        heard += await events(carol)
        if any(e["type"] == "resync" for e in heard):
            break
    # Alice stays and keeps announcing herself every second; none of it reaches Carol.
    assert await nothing_more(carol, timeout=2.5)
    for socket in (alice, carol):
        await socket.disconnect()
