"""tickets/live/events.py: what is published, when, and what it costs per event."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from tests.live.conftest import events, live_session, nothing_more, open_socket, run
from tickets import services
from tickets.live.events import ticket_fields
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_ticket_fields_hold_display_data_only(ticket_a):
    fields = ticket_fields(Ticket.objects.select_related("queue").get(pk=ticket_a.pk))
    assert set(fields) == {
        "id", "ref", "url", "subject", "queue_id", "queue", "status", "status_label",
        "priority", "priority_label", "assignee_id", "assignee", "due_at", "updated_at",
    }  # fmt: skip


def test_no_model_signal_assembles_events(ticket_a, django_assert_num_queries):
    from django.db.models.signals import post_init, post_save

    from tickets.models import Activity

    # Services build their events; loading a ticket or saving a history line does nothing more.
    assert not post_init.has_listeners(Ticket)
    assert not post_save.has_listeners(Activity)
    with django_assert_num_queries(1):
        Ticket.objects.only("id").get(pk=ticket_a.pk)


@pytest.mark.asyncio
async def test_database_work_per_event_does_not_grow_with_open_sockets(agent, queue_a):
    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    def install():
        connection.execute_wrappers.append(count)

    def uninstall():
        connection.execute_wrappers.remove(count)

    # Consumers and services share this one thread (database_sync_to_async is thread
    # sensitive), so its connection sees every query either of them makes.
    # Warm the per-process caches (content types for the model history) first.
    await run(services.ticket_create, actor=agent, queue=queue_a, subject="Warm up")
    await run(install)
    try:
        costs = []
        for number in (1, 12):
            sockets = [await open_socket(await run(live_session, agent)) for _ in range(number)]
            actor = await run(type(agent).objects.get, pk=agent.pk)  # no cached roles
            executed.clear()
            # Subjects alike in what the search index makes of them (two words each).
            subject = f"Printer {'alpha' if number == 1 else 'bravo'}"
            await run(services.ticket_create, actor=actor, queue=queue_a, subject=subject)
            for socket in sockets:
                [event] = await events(socket)
                assert event["subject"] == subject
            costs.append(len(executed))
            for socket in sockets:
                await socket.disconnect()
    finally:
        await run(uninstall)
    assert costs[0] == costs[1] > 0


@pytest.mark.asyncio
async def test_joining_a_queue_from_the_user_side_rejoins_too(agent, agent_b, queue_a, queue_b):
    socket = await open_socket(await run(live_session, agent))
    await run(agent.queues.add, queue_b)
    [resync] = await events(socket)
    assert resync["type"] == "resync"
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="Seen now")
    [event] = await events(socket)
    assert event["subject"] == "Seen now"
    await socket.disconnect()


@pytest.mark.asyncio
async def test_becoming_a_manager_brings_every_queue(agent, agent_b, queue_b):
    socket = await open_socket(await run(live_session, agent))
    managers = await run(Group.objects.get, name="manager")
    await run(managers.user_set.add, agent)
    [resync] = await events(socket)
    assert resync == {"type": "resync", "queues": None}
    await run(services.ticket_create, actor=agent_b, queue=queue_b, subject="Every queue")
    [event] = await events(socket)
    assert event["subject"] == "Every queue"
    assert await nothing_more(socket)
    await socket.disconnect()
