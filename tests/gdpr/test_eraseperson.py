"""manage.py eraseperson: anonymise a contact in place, keep statistics, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from audit.models import SecurityEvent
from tests.helpers import raw_get
from tickets.models import Attachment, Contact, Ticket


def erase(*args: str) -> str:
    out = StringIO()
    call_command("eraseperson", *args, stdout=out)
    return out.getvalue()


def test_it_anonymises_the_contact_and_keeps_the_tickets(person):
    contact, first, _second = person
    assert erase("--email", "erin@example.org") == f"contact #{contact.pk} erased\n"
    row = Contact.objects.get(pk=contact.pk)
    assert (row.name, row.email, row.phone, row.email_index) == ("", "", "", "")
    assert row.erased_at is not None
    assert str(row) == f"Erased contact #{contact.pk}"
    assert "Erin" not in raw_get("tickets_contact", "name", contact.pk)
    assert not Contact.objects.filter(email_index=Contact.email_lookup("erin@example.org")).exists()
    # Ticket statistics and content stay unless asked otherwise.
    assert Ticket.objects.filter(contact=contact).count() == 2
    assert Ticket.objects.get(pk=first.pk).description.startswith("Serial ABC")


def test_erasing_twice_changes_nothing_more(person):
    contact = person[0]
    erase("--email", "erin@example.org")
    snapshot = {
        c: raw_get("tickets_contact", c, contact.pk)
        for c in ("name", "email", "phone", "email_index", "erased_at")
    }
    assert (
        erase("--email", "erin@example.org")
        == "no contact holds this email address; nothing to erase\n"
    )
    assert erase("--contact-id", str(contact.pk)) == f"contact #{contact.pk} was already erased\n"
    assert {c: raw_get("tickets_contact", c, contact.pk) for c in snapshot} == snapshot
    assert SecurityEvent.objects.filter(action="erased").count() == 1


def test_the_erasure_is_audited_and_the_history_holds_no_personal_data(person):
    contact = person[0]
    erase("--email", "erin@example.org")
    event = SecurityEvent.objects.get(action="erased")
    assert event.resource == f"contact:{contact.pk}"
    assert event.details == {"tickets_anonymised": 0, "reason": "request"}
    entries = LogEntry.objects.get_for_object(contact)
    assert entries.count() == 2  # created, erased
    history = " ".join(f"{e.object_repr} {e.changes}" for e in entries)
    assert "Erin" not in history and "erin@" not in history.lower() and "7946" not in history


def test_include_tickets_also_removes_ticket_content(person):
    contact, first, _second = person
    output = erase("--email", "erin@example.org", "--include-tickets")
    assert "2 ticket(s) anonymised" in output
    ticket = Ticket.objects.get(pk=first.pk)
    assert (ticket.subject, ticket.description, ticket.status, ticket.queue_id) == (
        "[purged]",
        "",
        "open",
        first.queue_id,
    )
    assert ticket.purged_at is not None
    assert [c.body for c in ticket.comments.all()] == ["", ""]
    assert not Attachment.objects.filter(ticket=ticket).exists()
    subjects = " ".join(
        str(e.changes) + e.object_repr for e in LogEntry.objects.filter(object_id=first.pk)
    )
    assert "laptop" not in subjects
    # Running it again finds nothing more to do.
    assert erase("--contact-id", str(contact.pk), "--include-tickets").endswith(
        "0 ticket(s) anonymised\n"
    )


def test_an_empty_email_is_refused(db):
    with pytest.raises(CommandError, match="must not be empty"):
        erase("--email", "  ")
