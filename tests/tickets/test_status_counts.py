"""The status counts the dashboard reads are kept by the database (tickets/count_models.py):
after any kind of write they equal a fresh count of the ticket table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count

from tickets import selectors, services
from tickets.count_models import StatusCount
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def _kept():
    return {(c.queue_id, c.status): c.n for c in StatusCount.objects.all() if c.n}


def _fresh():
    rows = Ticket.objects.values_list("queue_id", "status").annotate(n=Count("*")).order_by()
    return {(queue, status): n for queue, status, n in rows}


def test_the_counts_follow_every_kind_of_write(agent, manager, queue_a, queue_b):
    first = services.ticket_create(actor=agent, queue=queue_a, subject="One")
    second = services.ticket_create(actor=agent, queue=queue_a, subject="Two")
    assert _kept() == _fresh() == {(queue_a.pk, Status.NEW): 2}

    services.ticket_change_status(actor=agent, ticket=first, status=Status.PENDING)
    services.ticket_change_queue(actor=manager, ticket=second, queue=queue_b)
    assert _kept() == _fresh()

    Ticket.objects.filter(pk=first.pk).update(status=Status.RESOLVED, queue=queue_b)  # no service
    Ticket.objects.filter(pk=second.pk).update(subject="Renamed")  # neither status nor queue
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticket (uid, subject, status, priority, created_at, updated_at,"
            " queue_id) VALUES (gen_random_uuid(), 'raw', 'open', 2, now(), now(), %s)",
            [queue_a.pk],
        )
    assert _kept() == _fresh()

    Ticket.objects.filter(subject="raw").delete()
    assert _kept() == _fresh() == {(queue_b.pk, Status.RESOLVED): 1, (queue_b.pk, Status.NEW): 1}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks left pending
        cursor.execute("TRUNCATE tickets_ticket CASCADE")
    assert _kept() == _fresh() == {}


def test_the_dashboard_counts_only_the_queues_a_user_sees(agent, manager, queue_a, queue_b):
    services.ticket_create(actor=agent, queue=queue_a, subject="Mine")
    services.ticket_create(actor=manager, queue=queue_b, subject="Elsewhere")
    services.ticket_create(actor=manager, queue=queue_b, subject="Elsewhere too")
    assert selectors.dashboard_data(agent)["counts"][Status.NEW] == 1
    assert selectors.dashboard_data(manager)["counts"][Status.NEW] == 3
    assert selectors.dashboard_data(manager)["counts"][Status.CLOSED] == 0
