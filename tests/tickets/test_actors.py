"""The services for every actor, with no view involved: the system (commands, workers) and a
contact (a requester writing by mail) open tickets and write comments, and the SLA and
first-response rules depend on who acted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from tickets import services
from tickets.actors import SYSTEM, SystemActor
from tickets.models import Activity, Comment, Contact, Priority, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def requester(db):
    return services.contact_get_or_create(actor=SYSTEM, email="ada@example.org", name="Ada")


def test_the_system_opens_a_ticket_with_sla_dates_and_a_named_history_line(queue_a):
    ticket = services.ticket_create(
        actor=SystemActor("fetchmail"), queue=queue_a, subject="Mail", priority=Priority.HIGH
    )
    assert ticket.created_by is None
    assert ticket.response_due_at - ticket.created_at == timedelta(
        minutes=queue_a.sla_response_high
    )
    assert ticket.due_at - ticket.created_at == timedelta(minutes=queue_a.sla_resolution_high)
    line = ticket.activities.get()
    assert (line.verb, line.actor, line.actor_display) == ("created", None, "fetchmail")


def test_a_contact_opens_a_ticket_as_its_requester(queue_a, requester):
    other = services.contact_get_or_create(actor=SYSTEM, email="bob@example.org")
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help", contact=other)
    assert ticket.contact == requester  # a requester opens tickets for themselves only
    assert ticket.created_by is None
    assert ticket.response_due_at is not None
    assert ticket.activities.get().actor_display == "requester"


def test_the_system_reuses_a_contact_from_any_queue(agent, queue_a, queue_b):
    contact = services.contact_get_or_create(actor=agent, email="Eve@Example.org")
    services.ticket_create(actor=agent, queue=queue_a, subject="A", contact=contact)
    assert services.contact_get_or_create(actor=SYSTEM, email="eve@example.org") == contact


def test_a_contacts_reply_never_counts_as_first_response(queue_a, requester):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    comment = services.comment_add(actor=requester, ticket=ticket, body="More details")
    ticket.refresh_from_db()
    assert comment.author is None and comment.author_contact == requester
    assert comment.author_display == "Ada"
    assert ticket.first_response_at is None
    assert ticket.response_due_at is not None  # the response clock keeps running
    assert ticket.status == Status.NEW


def test_a_system_message_never_counts_as_first_response(queue_a, requester):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    services.comment_add(actor=SYSTEM, ticket=ticket, body="We received your message.")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == Status.NEW


def test_a_staff_reply_after_the_requester_is_the_first_response(agent, queue_a, requester):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    services.comment_add(actor=requester, ticket=ticket, body="Still broken")
    services.comment_add(actor=agent, ticket=ticket, body="On it")
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.response_due_at is None
    assert ticket.status == Status.OPEN


@pytest.mark.parametrize("status", [Status.PENDING, Status.RESOLVED])
def test_a_contacts_reply_reopens_a_pending_or_resolved_ticket(agent, queue_a, requester, status):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    services.comment_add(actor=agent, ticket=ticket, body="Try this")
    services.ticket_change_status(actor=agent, ticket=ticket, status=status)
    services.comment_add(actor=requester, ticket=ticket, body="Did not help")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    line = ticket.activities.filter(verb=Activity.Verb.STATUS).order_by("-id").first()
    assert (line.new_value, line.actor_display) == ("Open", "requester")


def test_a_staff_reply_does_not_reopen_a_pending_ticket(agent, queue_a, requester):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.PENDING)
    services.comment_add(actor=agent, ticket=ticket, body="Waiting for you")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING


def test_a_contact_cannot_write_on_someone_elses_ticket_or_an_internal_note(queue_a, requester):
    stranger = services.contact_get_or_create(actor=SYSTEM, email="mallory@example.org")
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    with pytest.raises(PermissionDenied):
        services.comment_add(actor=stranger, ticket=ticket, body="Let me in")
    with pytest.raises(PermissionDenied):
        services.comment_add(actor=requester, ticket=ticket, body="x", is_internal=True)
    assert not Comment.objects.exists()


def test_a_contact_cannot_reply_to_a_closed_ticket(agent, queue_a, requester):
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.RESOLVED)
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.CLOSED)
    with pytest.raises(ValidationError):
        services.comment_add(actor=requester, ticket=ticket, body="Again")


def test_events_are_built_by_the_service_and_sent_on_commit(
    queue_a, requester, monkeypatch, django_capture_on_commit_callbacks
):
    from tickets.live import events

    sent = []
    monkeypatch.setattr(events, "publish", lambda groups, message: sent.append(message))
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Help")
            services.comment_add(actor=requester, ticket=ticket, body="More")
        assert sent == []  # nothing before the outermost commit
    kinds = [m["event"]["kind"] for m in sent if m["type"] == "ticket.changed"]
    assert kinds == ["created", "created", "commented", "commented"]  # queue + managers' group
    commented = next(m for m in sent if m["event"]["kind"] == "commented")["event"]
    assert commented["was"]["status"] == "new"
    assert [a["verb"] for a in commented["activity"]] == ["commented"]
    assert commented["actor"] == ""  # a requester's name is never pushed to sockets
    assert "More" not in str(sent)


def test_an_outsider_user_cannot_open_tickets(outsider, queue_a):
    with pytest.raises(PermissionDenied):
        services.ticket_create(actor=outsider, queue=queue_a, subject="x")
    assert not Contact.objects.exists()
