"""manage.py rotatekeys: every value moves to the current key in batches, an interrupted run
continues where it stopped, and afterwards the old key can be removed."""

from __future__ import annotations

from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import override_settings

from audit.models import SecurityEvent
from tests.helpers import PDF, flip_bit, raw_get, raw_set, upload
from tests.testenv import TEST_KEYS
from tickets import services
from tickets.models import Attachment, Comment, Contact, Ticket, TicketBody
from tickets.services import attachment_add
from ticketsystem.cipher import generate_key, key_id_of
from ticketsystem.crypto import encrypted_fields

CURRENT, OLD = TEST_KEYS["FIELD_ENCRYPTION_KEYS"].split(",")  # "t2:...", "t1:..."
ONLY_OLD = OLD
ONLY_CURRENT = CURRENT


@pytest.fixture
def old_data(agent, queue_a):
    """Five tickets with contacts, comments and files, all sealed under the old key t1."""
    with override_settings(FIELD_ENCRYPTION_KEYS=ONLY_OLD):
        tickets = []
        for n in range(5):
            contact = services.contact_get_or_create(
                actor=agent, email=f"p{n}@example.org", name=f"Person {n}"
            )
            ticket = services.ticket_create(
                actor=agent,
                queue=queue_a,
                subject=f"T{n}",
                description=f"Description {n}",
                contact=contact,
            )
            services.comment_add(actor=agent, ticket=ticket, body=f"Comment {n}")
            attachment_add(actor=agent, ticket=ticket, upload=upload(f"file{n}.pdf", PDF))
            tickets.append(ticket)
    return tickets


def key_ids() -> set[str]:
    """Key ids found in every stored encrypted value, read raw."""
    found = set()
    for field in encrypted_fields():
        for value in field.model._base_manager.values_list(field.attname, flat=True):
            found.add(key_id_of(bytes(value) if field.binary else value))
    return found


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotatekeys", *args, stdout=out)
    return out.getvalue()


def test_data_starts_under_the_old_key(old_data):
    assert key_ids() == {"t1"}


def test_dry_run_counts_without_changing_anything(old_data):
    output = rotate("--dry-run")
    assert "tickets.ticketbody.description: 5 to re-encrypt" in output
    assert "tickets.attachment.content: 5 to re-encrypt" in output
    assert key_ids() == {"t1"}


def test_an_interrupted_rotation_resumes_and_then_the_old_key_can_go(old_data):
    updated = dict(Ticket.objects.values_list("pk", "updated_at"))
    history_before = LogEntry.objects.count()

    first = rotate("--batch-size", "2", "--max-batches", "1")
    assert "stopped early: run again to continue" in first
    assert "[##########" in first and "2/5" in first  # a progress bar per field
    assert key_ids() == {"t1", "t2"}
    assert TicketBody.objects.filter(description__key_id="t2").count() == 2

    second = rotate("--batch-size", "2")
    assert "100% 3/3" in second
    assert "every value is sealed under t2" in second
    assert "they can be removed: t1" in second
    assert key_ids() == {"t2"}

    with override_settings(FIELD_ENCRYPTION_KEYS=ONLY_CURRENT):
        for n, ticket in enumerate(Ticket.objects.order_by("pk")):
            assert ticket.description == f"Description {n}"
            assert ticket.contact.name == f"Person {n}"
            assert ticket.comments.get().body == f"Comment {n}"
            attachment = Attachment.objects.get(ticket=ticket)
            assert attachment.filename == f"file{n}.pdf"
            assert bytes(attachment.content) == PDF

    # Rewriting ciphertext changes no value: no model history, no new timestamps.
    assert LogEntry.objects.count() == history_before
    assert dict(Ticket.objects.values_list("pk", "updated_at")) == updated
    events = list(SecurityEvent.objects.filter(action="keys_rotated").order_by("seq"))
    assert [e.details["complete"] for e in events] == [False, True]
    assert events[-1].resource == "key:t2"
    assert events[-1].actor_username.startswith("cli")


def test_a_second_run_has_nothing_left_to_do(old_data):
    rotate()
    before = {
        f.aad_label: list(f.model._base_manager.order_by("pk").values_list(f.attname, flat=True))
        for f in encrypted_fields()
        if not f.binary
    }
    output = rotate()
    assert "re-encrypted 0 value(s)" in output
    after = {
        f.aad_label: list(f.model._base_manager.order_by("pk").values_list(f.attname, flat=True))
        for f in encrypted_fields()
        if not f.binary
    }
    assert before == after


def test_values_that_do_not_decrypt_are_left_alone_and_reported(old_data):
    broken = Comment.objects.order_by("pk").first()
    token = flip_bit(raw_get("tickets_comment", "body", broken.pk))
    raw_set("tickets_comment", "body", broken.pk, token)
    with pytest.raises(CommandError, match="1 value"):
        rotate()
    assert raw_get("tickets_comment", "body", broken.pk) == token
    assert Comment.objects.filter(body__key_id="t2").count() == 4
    assert SecurityEvent.objects.filter(
        action="decrypt_failed", resource=f"tickets.comment.body:{broken.uid}"
    ).exists()
    assert SecurityEvent.objects.filter(action="keys_rotated").get().details["failed"] == 1


def test_removing_the_old_key_before_rotating_shows_markers_not_garbage(old_data):
    with override_settings(FIELD_ENCRYPTION_KEYS=ONLY_CURRENT):
        assert Contact.objects.first().name == "[cannot decrypt]"


def test_a_new_key_can_be_generated_and_made_current(old_data):
    new = f"t3:{generate_key()}"
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{new},{CURRENT},{OLD}"):
        rotate()
        assert key_ids() == {"t3"}
    with override_settings(FIELD_ENCRYPTION_KEYS=new):
        assert Ticket.objects.order_by("pk").first().description == "Description 0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch-size", "0"), "--batch-size must be between 1 and"),
        (("--batch-size", str(10**30)), "--batch-size must be between 1 and"),
        (("--max-batches", "0"), "--max-batches must be at least 1"),
    ],
)
def test_it_refuses_nonsense_batch_options(db, args, message):
    with pytest.raises(CommandError, match=message):
        rotate(*args)
