"""The uid an encrypted value is bound to cannot change, so a ciphertext cannot be moved to
another row together with its uid (ticketsystem/rowidentity.py): the database refuses."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from tests.helpers import raw_get
from tickets import services
from tickets.models import Comment, Contact
from ticketsystem.crypto import EncryptedFieldMixin, is_undecryptable
from ticketsystem.rowidentity import trigger_name


def _tables_with_encrypted_fields() -> set[str]:
    return {
        model._meta.db_table
        for model in apps.get_models()
        if any(isinstance(f, EncryptedFieldMixin) for f in model._meta.get_fields())
    }


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_every_table_with_encrypted_fields_has_the_trigger(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = {row[0] for row in cursor.fetchall()}
    tables = _tables_with_encrypted_fields()
    assert {"tickets_comment", "tickets_contact", "accounts_totpdevice"} <= tables
    assert {table for table in tables if trigger_name(table) not in triggers} == set()


def test_changing_a_uid_is_refused(db):
    contact = services.contact_get_or_create(actor=None, email="ann@example.org", name="Ann")
    with pytest.raises(IntegrityError, match="uid is immutable"), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(uid=uuid.uuid4())
    contact.refresh_from_db()
    assert contact.name == "Ann"
    contact.save()  # saving every column (the same uid included) still works


def test_a_ciphertext_moved_with_its_uid_cannot_land_in_another_row(ticket_a, ticket_b, agent):
    secret = services.comment_add(ticket=ticket_a, actor=agent, body="the safe code is 4711")
    other = services.comment_add(ticket=ticket_b, actor=agent, body="hello")
    body, uid = raw_get("tickets_comment", "body", secret.pk), secret.uid
    # Even with the original row gone (so the unique uid is free), the other row keeps its uid.
    _execute("DELETE FROM tickets_comment WHERE id = %s", [secret.pk])
    with pytest.raises(IntegrityError, match="uid is immutable"), transaction.atomic():
        _execute(
            "UPDATE tickets_comment SET body = %s, uid = %s WHERE id = %s", [body, uid, other.pk]
        )
    assert Comment.objects.get(pk=other.pk).body == "hello"


def test_a_ciphertext_moved_without_its_uid_fails_closed(ticket_a, agent):
    secret = services.comment_add(ticket=ticket_a, actor=agent, body="the safe code is 4711")
    other = services.comment_add(ticket=ticket_a, actor=agent, body="hello")
    body = raw_get("tickets_comment", "body", secret.pk)
    _execute("UPDATE tickets_comment SET body = %s WHERE id = %s", [body, other.pk])
    assert is_undecryptable(Comment.objects.get(pk=other.pk).body)
