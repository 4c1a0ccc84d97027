"""django-auditlog records service changes with actor and address, and never a secret."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from tests.conftest import make_user
from tests.helpers import PNG, upload
from tickets import services
from tickets.models import Attachment, Contact, Queue, Ticket, TicketBody
from tickets.services import attachment_add


def entries_for(model, pk) -> list[LogEntry]:
    ct = ContentType.objects.get_for_model(model)
    return list(LogEntry.objects.filter(content_type=ct, object_id=pk).order_by("id"))


def test_a_status_change_through_the_page_is_logged_with_actor_ip_and_request_id(
    agent_client, agent, ticket_a
):
    response = agent_client.post(
        f"/tickets/{ticket_a.reference}/status/", {"status": "open"}, REMOTE_ADDR="203.0.113.50"
    )
    assert response.status_code == 302
    entry = entries_for(Ticket, ticket_a.pk)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes == {"status": ["new", "open"]}
    assert entry.actor == agent
    assert entry.remote_addr == "203.0.113.50"
    assert entry.cid == response["X-Request-ID"]


def test_the_client_cannot_choose_the_recorded_address(agent_client, ticket_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [__import__("ipaddress").ip_network("10.0.0.0/8")]
    agent_client.post(
        f"/tickets/{ticket_a.reference}/priority/",
        {"priority": 4},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.51",
    )
    assert entries_for(Ticket, ticket_a.pk)[-1].remote_addr == "203.0.113.51"


def test_a_ticket_created_through_the_page_logs_each_new_row_with_actor_ip_and_request_id(
    agent_client, agent, queue_a
):
    """The requester, the ticket and its description: one entry each, written together
    (tickets/services, audit/entries.py), stamped as a one-by-one save would be."""
    response = agent_client.post(
        "/tickets/new/",
        {"queue": queue_a.pk, "priority": "2", "subject": "Jam", "description": "Serial 4711"}
        | {"contact_email": "pat@example.com", "contact_name": "Pat Doe"},
        REMOTE_ADDR="203.0.113.52",
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    entries = [
        *entries_for(Contact, ticket.contact_id),
        *entries_for(Ticket, ticket.pk),
        *entries_for(TicketBody, ticket.pk),
    ]
    assert [e.action for e in entries] == [LogEntry.Action.CREATE] * 3
    assert {(e.actor, e.remote_addr, e.cid) for e in entries} == {
        (agent, "203.0.113.52", response["X-Request-ID"])
    }
    assert [e.object_repr for e in entries] == [
        f"Contact #{ticket.contact_id}",
        ticket.reference,
        ticket.reference,
    ]
    assert entries[1].changes["subject"] == ["None", "Jam"]
    assert entries[2].changes["description"] == ["[encrypted]", "[encrypted]"]
    text = str([(e.changes, e.serialized_data) for e in entries])
    assert "4711" not in text and "Pat" not in text and "pat@example.com" not in text


def test_held_entries_are_not_written_when_the_creation_fails(agent, queue_a):
    from django.db import transaction

    from audit.entries import entries_in_one_insert

    before = LogEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), entries_in_one_insert():
        services.contact_get_or_create(actor=agent, email="zed@example.org")
        assert LogEntry.objects.count() == before  # held, not yet written
        raise RuntimeError
    assert (Contact.objects.count(), LogEntry.objects.count()) == (0, before)


def test_a_service_change_outside_a_request_is_logged_too(agent, ticket_a):
    services.ticket_change_subject(actor=agent, ticket=ticket_a, subject="Printer fixed?")
    entry = entries_for(Ticket, ticket_a.pk)[-1]
    assert entry.changes == {"subject": ["Printer on fire", "Printer fixed?"]}


def test_encrypted_fields_are_recorded_only_as_changed(agent, ticket_a):
    services.ticket_change_description(actor=agent, ticket=ticket_a, description="Serial 12345")
    entry = entries_for(TicketBody, ticket_a.pk)[-1]
    assert entry.changes == {"description": ["[encrypted]", "[encrypted]"]}
    created = entries_for(TicketBody, ticket_a.pk)[0]
    assert created.changes["description"] == ["[encrypted]", "[encrypted]"]
    assert "toner" not in str(created.changes)
    assert "toner" not in str(entries_for(Ticket, ticket_a.pk)[0].changes)


def test_contacts_are_logged_without_any_personal_data(agent):
    contact = services.contact_get_or_create(
        actor=agent, email="zed@example.org", name="Zed Zulu", phone="555"
    )
    [entry] = entries_for(Contact, contact.pk)
    assert entry.object_repr == f"Contact #{contact.pk}"
    text = f"{entry.object_repr} {entry.changes} {entry.serialized_data}"
    assert "Zed" not in text and "zed@example.org" not in text and "555" not in text
    assert entry.changes["email_index"] == ["[encrypted]", "[encrypted]"]


def test_tickets_are_labelled_by_reference_not_subject(ticket_a):
    assert entries_for(Ticket, ticket_a.pk)[0].object_repr == ticket_a.reference
    assert entries_for(TicketBody, ticket_a.pk)[0].object_repr == ticket_a.reference


def test_attachments_are_logged_with_the_filename_masked_and_no_content(agent, ticket_a):
    attachment = attachment_add(
        actor=agent, ticket=ticket_a, upload=upload("passport-scan.png", PNG)
    )
    [entry] = entries_for(Attachment, attachment.pk)
    assert entry.changes["filename"] == ["[encrypted]", "[encrypted]"]
    assert "content" not in entry.changes
    assert entry.changes["size"] == ["None", str(len(PNG))]
    assert "passport" not in str(entry.changes) + entry.object_repr


def test_group_membership_is_logged(db):
    user = make_user("newbie")
    user.groups.add(Group.objects.get(name="manager"))
    entry = entries_for(type(user), user.pk)[-1]
    assert entry.changes == {"groups": {"type": "m2m", "operation": "add", "objects": ["manager"]}}


def test_queue_membership_is_logged(queue_a, agent):
    entry = entries_for(Queue, queue_a.pk)[-1]
    assert entry.changes == {"members": {"type": "m2m", "operation": "add", "objects": ["alice"]}}


def test_password_hashes_and_login_times_are_not_logged(db):
    user = make_user("hashy")
    user.set_password("a long enough password 1")
    user.save(update_fields=["password"])
    for entry in entries_for(type(user), user.pk):
        assert "password" not in entry.changes and "last_login" not in entry.changes
