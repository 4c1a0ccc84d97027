"""What an open dashboard socket receives: its queues' changes, once, coalesced, after commit
only, and without anything secret."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.conftest import make_user
from tests.live.conftest import close_code, events, live_session, nothing_more, open_socket, run
from tickets import services
from tickets.live.admission import CLOSE_FORBIDDEN
from tickets.models import Priority, Status

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


async def test_an_agent_sees_a_ticket_created_in_her_queue(agent, agent_b, queue_a):
    socket = await open_socket(await run(live_session, agent))
    ticket = await run(services.ticket_create, actor=agent, queue=queue_a, subject="Printer jammed")
    [event] = await events(socket)
    assert event["type"] == "ticket"
    assert event["kind"] == "created"
    assert event["id"] == ticket.pk
    assert event["ref"] == ticket.reference
    assert event["subject"] == "Printer jammed"
    assert event["queue"] == "Alpha support"
    assert event["status_label"] == "New"
    assert event["was"] is None
    assert [a["verb"] for a in event["activity"]] == ["created"]
    await socket.disconnect()


async def test_an_event_says_what_changed_and_what_it_was(agent, queue_a, ticket_a):
    socket = await open_socket(await run(live_session, agent))
    await run(services.ticket_assign, actor=agent, ticket=ticket_a, assignee=agent)
    [event] = await events(socket)
    assert event["kind"] == "assigned"
    assert event["assignee_id"] == agent.pk
    assert event["assignee"] == "alice"
    assert event["was"]["assignee_id"] is None
    assert event["was"]["status"] == "new"
    assert event["actor"] == "alice"
    [line] = event["activity"]
    assert (line["verb_label"], line["old"], line["new"]) == ("assigned", "", "alice")

    await run(services.ticket_change_status, actor=agent, ticket=ticket_a, status=Status.PENDING)
    [event] = await events(socket)
    assert (event["was"]["status"], event["status"]) == ("new", "pending")
    assert event["activity"][0]["old"] == "New"
    assert event["activity"][0]["new"] == "Pending"
    await socket.disconnect()


async def test_an_agent_gets_nothing_from_a_queue_she_cannot_see(agent, agent_b, queue_b, queue_a):
    socket = await open_socket(await run(live_session, agent))
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="Invoice wrong")
    assert await nothing_more(socket)
    # ...while her own queue still reaches her.
    await run(services.ticket_create, actor=agent, queue=queue_a, subject="Mine")
    [event] = await events(socket)
    assert event["subject"] == "Mine"
    await socket.disconnect()


async def test_a_manager_gets_every_queue_once(manager, agent, agent_b, queue_a, queue_b):
    socket = await open_socket(await run(live_session, manager))
    await run(services.ticket_create, actor=agent, queue=queue_a, subject="In A")
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="In B")
    received = []
    while len(received) < 2:
        received += await events(socket)
    assert sorted(e["subject"] for e in received) == ["In A", "In B"]
    assert await nothing_more(socket)
    await socket.disconnect()


async def test_a_rolled_back_change_publishes_nothing(agent, queue_a, ticket_a):
    socket = await open_socket(await run(live_session, agent))

    def change_then_fail():
        with transaction.atomic():
            services.ticket_change_priority(actor=agent, ticket=ticket_a, priority=Priority.URGENT)
            services.ticket_create(actor=agent, queue=queue_a, subject="Never happened")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await run(change_then_fail)
    assert await nothing_more(socket, timeout=1)
    await run(services.ticket_change_status, actor=agent, ticket=ticket_a, status=Status.OPEN)
    [event] = await events(socket)
    assert event["kind"] == "status"
    assert event["priority"] == Priority.NORMAL  # the rolled-back priority never happened
    await socket.disconnect()


async def test_a_burst_of_changes_arrives_coalesced_and_in_order(agent, queue_a):
    socket = await open_socket(await run(live_session, agent))

    def burst():
        for n in range(6):
            services.ticket_create(actor=agent, queue=queue_a, subject=f"Burst {n}")

    await run(burst)
    received, frames = [], 0
    while len(received) < 6:
        received += await events(socket)
        frames += 1
    assert [e["subject"] for e in received] == [f"Burst {n}" for n in range(6)]
    assert frames < 6
    await socket.disconnect()


async def test_events_never_carry_descriptions_comments_or_contact_data(agent, queue_a):
    socket = await open_socket(await run(live_session, agent))

    def work():
        contact = services.contact_get_or_create(
            actor=agent, email="secret.person@example.org", name="Secret Person", phone="+4912345"
        )
        ticket = services.ticket_create(
            actor=agent,
            queue=queue_a,
            subject="Login fails",
            description="DESC-SECRET",
            contact=contact,
        )
        services.comment_add(actor=agent, ticket=ticket, body="REPLY-SECRET")
        services.comment_add(actor=agent, ticket=ticket, body="NOTE-SECRET", is_internal=True)

    await run(work)
    frames = []
    while sum(len(f) for f in frames) < 3:
        frames.append(await events(socket))
    text = str(frames)
    for secret in (
        "DESC-SECRET",
        "REPLY-SECRET",
        "NOTE-SECRET",
        "secret.person",
        "Secret Person",
        "+4912345",
    ):
        assert secret not in text
    verbs = [a["verb_label"] for f in frames for e in f for a in e["activity"]]
    assert "replied" in verbs and "added an internal note" in verbs
    await socket.disconnect()


async def test_a_ticket_moved_out_of_sight_arrives_as_a_removal_only(
    manager, agent, agent_b, queue_a, queue_b, ticket_a
):
    alice = await open_socket(await run(live_session, agent))
    bob = await open_socket(await run(live_session, agent_b))
    both_user = await run(make_user, "carol", "agent")
    await run(queue_a.members.add, both_user)
    await run(queue_b.members.add, both_user)
    carol = await open_socket(await run(live_session, both_user))

    await run(services.ticket_change_queue, actor=manager, ticket=ticket_a, queue=queue_b)

    [removed] = await events(alice)
    assert removed == {
        "type": "removed",
        "id": ticket_a.pk,
        "ref": ticket_a.reference,
        "was": removed["was"],
    }
    assert removed["was"]["queue_id"] == queue_a.pk
    [moved] = await events(bob)
    assert (moved["kind"], moved["queue"]) == ("queue", "Beta billing")
    [once] = await events(carol)
    assert once["kind"] == "queue"
    assert await nothing_more(carol)
    for socket in (alice, bob, carol):
        await socket.disconnect()


async def test_joining_a_queue_brings_its_events_and_leaving_stops_them(
    agent, agent_b, queue_a, queue_b
):
    socket = await open_socket(await run(live_session, agent))
    await run(queue_b.members.add, agent)
    assert await events(socket) == [{"type": "resync", "queues": sorted([queue_a.pk, queue_b.pk])}]
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="Now visible")
    [event] = await events(socket)
    assert event["subject"] == "Now visible"

    await run(queue_b.members.remove, agent)
    assert await events(socket) == [{"type": "resync", "queues": [queue_a.pk]}]
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="Hidden again")
    assert await nothing_more(socket)
    await socket.disconnect()


async def test_clearing_a_queue_reaches_its_former_members(agent, queue_a):
    socket = await open_socket(await run(live_session, agent))
    await run(queue_a.members.clear)
    assert await events(socket) == [{"type": "resync", "queues": []}]
    await socket.disconnect()


async def test_losing_every_role_closes_the_socket(agent):
    socket = await open_socket(await run(live_session, agent))
    await run(agent.groups.clear)
    assert await close_code(socket) == CLOSE_FORBIDDEN


async def test_closed_sockets_leave_no_subscription_behind(agent, manager, queue_a):
    import asyncio

    from tickets.live import hub as live_hub

    sockets = [
        await open_socket(await run(live_session, agent)),
        await open_socket(await run(live_session, manager)),
    ]
    hub = live_hub.hubs[asyncio.get_running_loop()]
    assert set(hub.members) == {f"queue_{queue_a.pk}", "queue_all"}
    for socket in sockets:
        await socket.disconnect()
    assert hub.members == {}
    assert hub.task is None
