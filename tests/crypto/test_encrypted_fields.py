"""Encrypted model fields: ciphertext in the database, plaintext only on the instance, and a
marker plus a decrypt_failed event whenever a stored value does not decrypt."""

from __future__ import annotations

import pytest
from django.core import serializers
from django.test import override_settings

from audit.models import SecurityEvent
from tests.helpers import PNG, flip_bit, raw_get, raw_set, upload
from tests.testenv import TEST_KEYS
from tickets import services
from tickets.models import Attachment, Contact, Ticket
from tickets.services import attachment_add
from ticketsystem.cipher import generate_key
from ticketsystem.crypto import UNDECRYPTABLE_TEXT, Undecryptable, is_undecryptable


@pytest.fixture
def contact(db):
    return services.contact_get_or_create(
        actor=None, email="ann@example.org", name="Ann Smith", phone="+49 30 1234"
    )


def decrypt_events():
    return list(SecurityEvent.objects.filter(action="decrypt_failed").order_by("seq"))


def test_the_database_holds_only_ciphertext(contact):
    for column, plain in (
        ("name", "Ann Smith"),
        ("email", "ann@example.org"),
        ("phone", "+49 30 1234"),
    ):
        stored = raw_get("tickets_contact", column, contact.pk)
        assert stored.startswith("$v1$t2$")
        assert plain not in stored
    assert Contact.objects.get(pk=contact.pk).name == "Ann Smith"


def test_contacts_are_found_by_email_through_the_blind_index(contact):
    assert Contact.objects.get(email_index=Contact.email_lookup(" ANN@example.org")) == contact
    assert raw_get("tickets_contact", "email_index", contact.pk) != "ann@example.org"


def test_saving_an_untouched_row_keeps_its_ciphertext(contact):
    before = raw_get("tickets_contact", "name", contact.pk)
    row = Contact.objects.get(pk=contact.pk)
    row.save(update_fields=["erased_at"])
    row.save()
    assert raw_get("tickets_contact", "name", contact.pk) == before


def test_queryset_update_with_plaintext_is_refused(contact):
    with pytest.raises(TypeError, match="encrypted"):
        Contact.objects.filter(pk=contact.pk).update(name="Eve")


def test_lookups_other_than_isnull_and_key_id_are_refused(contact):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(Contact.objects.filter(name="Ann Smith"))
    assert Contact.objects.filter(name__key_id="t2").count() == 1
    assert Contact.objects.filter(name__key_id="t1").count() == 0


def test_dumpdata_serialises_ciphertext_not_plaintext(contact):
    text = serializers.serialize("json", Contact.objects.filter(pk=contact.pk))
    assert "Ann Smith" not in text and "ann@example.org" not in text
    assert "$v1$t2$" in text


def test_a_flipped_bit_reads_as_the_marker_and_records_an_event(contact):
    raw_set(
        "tickets_contact",
        "name",
        contact.pk,
        flip_bit(raw_get("tickets_contact", "name", contact.pk)),
    )
    row = Contact.objects.get(pk=contact.pk)
    assert isinstance(row.name, Undecryptable)
    assert str(row.name) == UNDECRYPTABLE_TEXT
    assert row.email == "ann@example.org"  # other fields are unaffected
    [event] = decrypt_events()
    assert event.resource == f"tickets.contact.name:{contact.uid}"
    assert "authentication failed" in event.details["reason"]
    assert "Ann" not in str(event.details)


def test_saving_a_row_with_an_undecryptable_value_keeps_the_stored_value(contact):
    broken = flip_bit(raw_get("tickets_contact", "name", contact.pk))
    raw_set("tickets_contact", "name", contact.pk, broken)
    row = Contact.objects.get(pk=contact.pk)
    assert is_undecryptable(row.name)
    row.phone = "+1 555"
    row.save()
    assert raw_get("tickets_contact", "name", contact.pk) == broken  # never the marker text
    assert Contact.objects.get(pk=contact.pk).phone == "+1 555"


def test_a_value_swapped_between_rows_does_not_reveal_the_other_row(agent, queue_a):
    first = services.ticket_create(
        actor=agent, queue=queue_a, subject="one", description="first secret"
    )
    second = services.ticket_create(
        actor=agent, queue=queue_a, subject="two", description="second secret"
    )
    raw_set(
        "tickets_ticketbody",
        "description",
        second.pk,
        raw_get("tickets_ticketbody", "description", first.pk),
    )
    assert is_undecryptable(Ticket.objects.get(pk=second.pk).description)
    assert decrypt_events()[0].resource == f"tickets.ticketbody.description:{second.body.uid}"


def test_a_value_swapped_between_fields_does_not_decrypt(contact):
    raw_set("tickets_contact", "phone", contact.pk, raw_get("tickets_contact", "email", contact.pk))
    assert is_undecryptable(Contact.objects.get(pk=contact.pk).phone)


def test_an_unknown_key_id_reads_as_the_marker(contact):
    token = raw_get("tickets_contact", "email", contact.pk)
    raw_set("tickets_contact", "email", contact.pk, token.replace("$t2$", "$zz$", 1))
    row = Contact.objects.get(pk=contact.pk)
    assert is_undecryptable(row.email)
    assert "unknown key id 'zz'" in decrypt_events()[0].details["reason"]


def test_a_wrong_key_under_the_right_id_reads_as_the_marker(contact):
    with override_settings(FIELD_ENCRYPTION_KEYS=f"t2:{generate_key()}"):
        row = Contact.objects.get(pk=contact.pk)
        assert is_undecryptable(row.name)
    assert Contact.objects.get(pk=contact.pk).name == "Ann Smith"


def test_binary_content_is_encrypted_and_deferred(agent, ticket_a):
    attachment = attachment_add(actor=agent, ticket=ticket_a, upload=upload("dot.png", PNG))
    stored = raw_get("tickets_attachment", "content", attachment.pk)
    assert stored.startswith(b"$v1$t2$") and PNG not in stored
    row = Attachment.objects.get(pk=attachment.pk)
    assert "content" in row.get_deferred_fields()
    assert bytes(row.content) == PNG


def test_tampered_binary_content_reads_as_empty_marker(agent, ticket_a):
    attachment = attachment_add(actor=agent, ticket=ticket_a, upload=upload("dot.png", PNG))
    stored = bytearray(raw_get("tickets_attachment", "content", attachment.pk))
    stored[-3] ^= 0x10
    raw_set("tickets_attachment", "content", attachment.pk, bytes(stored))
    content = Attachment.objects.get(pk=attachment.pk).content
    assert is_undecryptable(content) and content == b""
    assert decrypt_events()[0].resource == f"tickets.attachment.content:{attachment.uid}"


def test_the_test_keyring_has_an_old_and_a_current_key():
    assert TEST_KEYS["FIELD_ENCRYPTION_KEYS"].startswith("t2:")


def test_bulk_update_with_plaintext_is_refused(contact):
    row = Contact.objects.get(pk=contact.pk)
    row.name = "Eve"
    with pytest.raises(TypeError, match="encrypted"):
        Contact.objects.bulk_update([row], ["name"])


def test_the_marker_coming_back_from_a_form_keeps_the_original_ciphertext(contact):
    broken = flip_bit(raw_get("tickets_contact", "name", contact.pk))
    raw_set("tickets_contact", "name", contact.pk, broken)
    row = Contact.objects.get(pk=contact.pk)
    row.name = str(row.name)  # what a ModelForm puts back: the plain marker text
    row.full_clean()
    row.save()
    assert raw_get("tickets_contact", "name", contact.pk) == broken


def test_the_admin_form_round_trip_of_an_undecryptable_contact_keeps_it(
    client, admin_user, contact
):
    from tests.conftest import login

    broken = flip_bit(raw_get("tickets_contact", "phone", contact.pk))
    raw_set("tickets_contact", "phone", contact.pk, broken)
    login(client, admin_user)
    response = client.post(
        f"/admin/tickets/contact/{contact.pk}/change/",
        {"name": "Ann Smith", "email": "ann@example.org", "phone": UNDECRYPTABLE_TEXT},
    )
    assert response.status_code == 302
    assert raw_get("tickets_contact", "phone", contact.pk) == broken
