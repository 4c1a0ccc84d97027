"""On PostgreSQL a trigger refuses UPDATE and DELETE on the security event table."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.events import record_event
from audit.models import SecurityEvent


@pytest.fixture
def event(db):
    return record_event("login_failed", username="mallory", ip="192.0.2.1")


def _refused(sql: str, params: list) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(info.value)


def test_raw_update_is_refused(event):
    message = _refused("UPDATE audit_securityevent SET action = 'logout' WHERE id = %s", [event.pk])
    assert "append-only: UPDATE refused" in message
    assert SecurityEvent.objects.get(pk=event.pk).action == "login_failed"


def test_raw_delete_is_refused(event):
    message = _refused("DELETE FROM audit_securityevent WHERE id = %s", [event.pk])
    assert "append-only: DELETE refused" in message
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_orm_update_and_delete_are_refused(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        SecurityEvent.objects.filter(pk=event.pk).update(actor_username="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        SecurityEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        event.action = "logout"
        event.save()
    assert SecurityEvent.objects.get(pk=event.pk).action == "login_failed"


def test_appending_still_works(event):
    record_event("logout", username="mallory")
    assert SecurityEvent.objects.count() == 2
