"""A ticket whose stored values do not decrypt still renders: markers, no 500, events."""

from __future__ import annotations

import pytest
from django.test import override_settings

from audit.models import SecurityEvent
from tests.helpers import PNG, flip_bit, raw_get, raw_set, upload
from tickets import services
from tickets.services import attachment_add
from ticketsystem.cipher import generate_key


@pytest.fixture
def full_ticket(agent, queue_a):
    contact = services.contact_get_or_create(
        actor=agent, email="ann@example.org", name="Ann Smith", phone="555-0100"
    )
    ticket = services.ticket_create(
        actor=agent,
        queue=queue_a,
        subject="Broken laptop",
        description="Serial 4711, owner Ann",
        contact=contact,
    )
    comment = services.comment_add(actor=agent, ticket=ticket, body="Called Ann back")
    attachment = attachment_add(
        actor=agent, ticket=ticket, upload=upload("receipt.png", PNG), comment=comment
    )
    return ticket, contact, comment, attachment


def _events():
    return set(
        SecurityEvent.objects.filter(action="decrypt_failed").values_list("resource", flat=True)
    )


def test_a_flipped_bit_in_every_field_shows_markers_not_a_500(agent_client, full_ticket):
    ticket, contact, comment, attachment = full_ticket
    for table, column, pk in (
        ("tickets_ticketbody", "description", ticket.pk),
        ("tickets_comment", "body", comment.pk),
        ("tickets_contact", "name", contact.pk),
        ("tickets_attachment", "filename", attachment.pk),
    ):
        raw_set(table, column, pk, flip_bit(raw_get(table, column, pk)))
    response = agent_client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "This description cannot be decrypted." in page
    assert "This message cannot be decrypted." in page
    assert "File name cannot be decrypted" in page
    assert "[cannot decrypt]" in page  # the contact's name
    assert "Serial 4711" not in page and "Called Ann back" not in page
    assert _events() == {
        f"tickets.ticketbody.description:{ticket.body.uid}",
        f"tickets.comment.body:{comment.uid}",
        f"tickets.contact.name:{contact.uid}",
        f"tickets.attachment.filename:{attachment.uid}",
    }
    event = SecurityEvent.objects.filter(action="decrypt_failed").first()
    assert event.actor_username == "alice"
    assert event.request_id == response["X-Request-ID"]


def test_a_description_swapped_in_from_another_ticket_is_not_shown(
    agent_client, full_ticket, agent, queue_a
):
    ticket = full_ticket[0]
    other = services.ticket_create(
        actor=agent, queue=queue_a, subject="Other", description="Other secret"
    )
    raw_set(
        "tickets_ticketbody",
        "description",
        ticket.pk,
        raw_get("tickets_ticketbody", "description", other.pk),
    )
    response = agent_client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    assert b"Other secret" not in response.content
    assert b"This description cannot be decrypted." in response.content


def test_a_value_moved_to_another_field_is_not_shown(agent_client, full_ticket):
    ticket, contact = full_ticket[0], full_ticket[1]
    raw_set("tickets_contact", "phone", contact.pk, raw_get("tickets_contact", "email", contact.pk))
    response = agent_client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    assert b"[cannot decrypt]" in response.content
    assert f"tickets.contact.phone:{contact.uid}" in _events()


def test_an_unknown_key_id_shows_markers(agent_client, full_ticket):
    ticket = full_ticket[0]
    token = raw_get("tickets_ticketbody", "description", ticket.pk)
    raw_set("tickets_ticketbody", "description", ticket.pk, token.replace("$t2$", "$retired$", 1))
    response = agent_client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    assert b"This description cannot be decrypted." in response.content
    reasons = list(
        SecurityEvent.objects.filter(action="decrypt_failed").values_list("details", flat=True)
    )
    assert reasons == [{"reason": "unknown key id 'retired'"}]


def test_the_wrong_key_shows_markers_everywhere(agent_client, full_ticket):
    ticket = full_ticket[0]
    with override_settings(FIELD_ENCRYPTION_KEYS=f"t2:{generate_key()}"):
        response = agent_client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    assert b"This description cannot be decrypted." in response.content
    assert b"It smells" not in response.content
    assert len(_events()) >= 4


def test_undecryptable_attachment_content_answers_409_not_500(agent_client, full_ticket):
    attachment = full_ticket[3]
    stored = bytearray(raw_get("tickets_attachment", "content", attachment.pk))
    stored[20] ^= 0x01
    raw_set("tickets_attachment", "content", attachment.pk, bytes(stored))
    response = agent_client.get(attachment.get_absolute_url())
    assert response.status_code == 409
    assert b"cannot be decrypted" in response.content
    assert f"tickets.attachment.content:{attachment.uid}" in _events()
    assert not SecurityEvent.objects.filter(action="attachment_downloaded").exists()
