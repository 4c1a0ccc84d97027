"""Migration 0015 moves each description out of the ticket row into TicketBody, re-encrypted
for its new place, and back again on reversal."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BEFORE = [("tickets", "0014_ticket_active_cover")]
AFTER = [("tickets", "0016_ticketbody_uid_immutable")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def test_descriptions_move_to_their_own_table_and_back(queue_a):
    apps = _migrate(BEFORE)
    Ticket = apps.get_model("tickets", "Ticket")
    old = Ticket.objects.create(queue_id=queue_a.pk, subject="Old", description="Serial 99")
    empty = Ticket.objects.create(queue_id=queue_a.pk, subject="Empty", description="")
    try:
        apps = _migrate(AFTER)
        TicketBody = apps.get_model("tickets", "TicketBody")
        assert TicketBody.objects.get(ticket_id=old.pk).description == "Serial 99"
        assert TicketBody.objects.get(ticket_id=empty.pk).description == ""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT description FROM tickets_ticketbody WHERE ticket_id = %s", [old.pk]
            )
            (sealed,) = cursor.fetchone()
        assert sealed.startswith("$v1$") and "Serial" not in sealed
        columns = [c.name for c in connection.introspection.get_table_description(
            connection.cursor(), "tickets_ticket"
        )]  # fmt: skip
        assert "description" not in columns

        apps = _migrate(BEFORE)
        Ticket = apps.get_model("tickets", "Ticket")
        assert Ticket.objects.get(pk=old.pk).description == "Serial 99"
    finally:
        _migrate(executor_leaf())


def executor_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
