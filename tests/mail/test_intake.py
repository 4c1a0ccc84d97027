"""mail_receive: new tickets, threading, reopen, closed tickets, bounces, the rate cap,
attachments, quarantine and release, against the real database."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from audit.models import SecurityEvent
from tests.helpers import PNG, raw_get
from tests.mail.intake_helpers import corpus, message, with_address
from tickets import services
from tickets.mail.inbound_models import InboundMessage
from tickets.mail.threading import make_message_id
from tickets.models import Activity, Comment, Contact, Queue, Status, Ticket

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def queue(queue_a: Queue) -> Queue:
    return with_address(queue_a)


@pytest.fixture
def mailed_ticket(queue: Queue) -> Ticket:
    inbound = services.mail_receive(raw=message())
    return inbound.ticket


def token(ticket: Ticket) -> str:
    return make_message_id(ticket.pk, "helpdesk.example.com")


def events(action: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(action=action))


def test_a_new_mail_opens_a_ticket_from_the_requester(queue: Queue) -> None:
    inbound = services.mail_receive(raw=message())

    ticket = inbound.ticket
    assert inbound.status == InboundMessage.Status.TICKET
    assert ticket.queue == queue
    assert ticket.subject == "Printer prints blank pages"
    assert "prints blank pages" in ticket.description
    assert ticket.contact.email == "anna@example.org"
    assert ticket.contact.name == "Anna Schmidt"
    assert ticket.created_by is None
    assert ticket.activities.get(verb=Activity.Verb.CREATED).actor_display == "requester"


def test_the_source_is_encrypted_at_rest(queue: Queue) -> None:
    raw = message(body="Geheimnis 4711")
    inbound = services.mail_receive(raw=raw)

    stored = raw_get("tickets_inboundmessage", "raw", inbound.pk)
    assert b"Geheimnis" not in stored and raw not in stored
    assert "anna@example.org" not in raw_get("tickets_inboundmessage", "sender", inbound.pk)
    assert bytes(InboundMessage.objects.get(pk=inbound.pk).raw) == raw


def test_the_same_message_twice_is_stored_once(queue: Queue) -> None:
    raw = message(message_id="<once@example.org>")
    first = services.mail_receive(raw=raw)
    second = services.mail_receive(raw=raw)

    assert second.pk == first.pk
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1


def test_a_message_without_message_id_is_idempotent_by_its_bytes(queue: Queue) -> None:
    raw = message(message_id=None)
    services.mail_receive(raw=raw)
    services.mail_receive(raw=raw)
    services.mail_receive(raw=message(message_id=None, body="Another one."))

    assert Ticket.objects.count() == 2


def test_mail_to_no_queue_address_is_quarantined_with_an_event(queue: Queue) -> None:
    inbound = services.mail_receive(raw=message(to="someone-else@example.com"))

    assert inbound.status == InboundMessage.Status.QUARANTINED
    assert "no queue" in inbound.reason
    assert Ticket.objects.count() == 0
    [event] = events("mail_quarantined")
    assert event.resource == f"mail:{inbound.pk}"
    assert "anna" not in str(event.details)


def test_a_given_queue_takes_the_mail_whatever_its_recipients(queue_b: Queue) -> None:
    inbound = services.mail_receive(raw=message(to="someone-else@example.com"), queue=queue_b)

    assert inbound.ticket.queue == queue_b


def test_routing_ignores_the_case_of_the_queue_address(queue_a: Queue, queue_b: Queue) -> None:
    with_address(queue_b, "Billing@Helpdesk.Example.com")
    inbound = services.mail_receive(raw=message(to="billing@helpdesk.example.com"))

    assert inbound.ticket.queue == queue_b


def test_a_reply_naming_our_message_id_becomes_a_public_comment(mailed_ticket: Ticket) -> None:
    body = "It works again, thanks!\n\nOn Mon, 6 May 2024, Support wrote:\n> We fixed it.\n"
    inbound = services.mail_receive(
        raw=message(subject="Re: whatever", body=body, in_reply_to=token(mailed_ticket))
    )

    comment = inbound.comment
    assert inbound.status == InboundMessage.Status.COMMENT
    assert comment.ticket == mailed_ticket and not comment.is_internal
    assert comment.author_contact == mailed_ticket.contact and comment.author is None
    assert comment.body.strip() == "It works again, thanks!"
    assert "We fixed it." in inbound.quoted_text


def test_a_reply_by_subject_tag_from_the_requester_becomes_a_comment(mailed_ticket: Ticket) -> None:
    subject = f"AW: [{mailed_ticket.reference}] Printer prints blank pages"
    inbound = services.mail_receive(raw=message(subject=subject, body="Still broken."))

    assert inbound.comment.ticket == mailed_ticket
    assert inbound.reason == "reply by subject tag"


def test_a_stranger_copying_the_tag_gets_a_new_ticket(mailed_ticket: Ticket) -> None:
    subject = f"Re: [{mailed_ticket.reference}] Printer prints blank pages"
    inbound = services.mail_receive(
        raw=message(sender="mallory@evil.example", subject=subject, body="Let me in.")
    )

    assert inbound.status == InboundMessage.Status.TICKET
    assert inbound.ticket != mailed_ticket
    assert not mailed_ticket.comments.exists()
    note = inbound.ticket.comments.get()
    assert note.is_internal and mailed_ticket.reference in note.body


def test_a_forged_token_is_an_event_and_the_mail_is_new(mailed_ticket: Ticket) -> None:
    forged = f"<reply.{mailed_ticket.pk}.0123456789abcdef.{'0' * 24}@helpdesk.example.com>"
    subject = f"Re: [{mailed_ticket.reference}] Printer"
    inbound = services.mail_receive(raw=message(subject=subject, in_reply_to=forged))

    assert inbound.status == InboundMessage.Status.TICKET
    assert inbound.ticket != mailed_ticket
    assert not mailed_ticket.comments.exists()
    [event] = events("mail_forged_token")
    assert event.details["forged_ids"] == 1


@pytest.mark.parametrize("status", [Status.PENDING, Status.RESOLVED])
def test_a_requester_reply_reopens_and_is_no_first_response(
    mailed_ticket: Ticket, agent: Any, status: str
) -> None:
    services.ticket_change_status(actor=agent, ticket=mailed_ticket, status=Status.OPEN)
    services.ticket_change_status(actor=agent, ticket=mailed_ticket, status=status)
    services.mail_receive(raw=message(body="Any news?", in_reply_to=token(mailed_ticket)))

    mailed_ticket.refresh_from_db()
    assert mailed_ticket.status == Status.OPEN
    assert mailed_ticket.first_response_at is None


def test_a_reply_to_a_closed_ticket_opens_a_new_one_naming_it(
    mailed_ticket: Ticket, agent: Any
) -> None:
    services.ticket_change_status(actor=agent, ticket=mailed_ticket, status=Status.RESOLVED)
    services.ticket_change_status(actor=agent, ticket=mailed_ticket, status=Status.CLOSED)
    inbound = services.mail_receive(raw=message(body="Again!", in_reply_to=token(mailed_ticket)))

    assert inbound.status == InboundMessage.Status.TICKET
    assert inbound.ticket != mailed_ticket
    assert inbound.ticket.contact == mailed_ticket.contact
    assert mailed_ticket.reference in inbound.ticket.description
    assert not mailed_ticket.comments.exists()


def test_a_bounce_marks_the_contact_and_says_so_on_the_ticket(mailed_ticket: Ticket) -> None:
    contact = mailed_ticket.contact
    forged = f"<reply.42.0123456789abcdef.{'0' * 24}@helpdesk.example.com>"
    raw = corpus(
        "bounce_dsn.eml",
        {"gone.user@example.org": "anna@example.org", forged: token(mailed_ticket)},
    )
    inbound = services.mail_receive(raw=raw)

    contact.refresh_from_db()
    assert inbound.status == InboundMessage.Status.IGNORED
    assert inbound.is_automatic
    assert contact.email_bounced_at is not None
    note = mailed_ticket.comments.get()
    assert note.is_internal and "bounced" in note.body and "5.1.1" in note.body
    assert len(events("mail_bounced")) == 1
    assert Ticket.objects.count() == 1


@override_settings(MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR=2)
def test_a_flood_from_one_sender_is_quarantined_past_the_rate_cap(queue: Queue) -> None:
    results = [services.mail_receive(raw=message(body=f"Spam {n}")) for n in range(3)]
    other = services.mail_receive(raw=message(sender="bob@example.org"))

    assert [r.status for r in results] == ["ticket", "ticket", "quarantined"]
    assert "rate cap" in results[2].reason
    assert other.status == "ticket"
    assert Ticket.objects.count() == 3


def test_files_are_attached_and_refused_ones_are_listed(queue: Queue) -> None:
    raw = message(
        attachments=[
            ("screenshot.png", PNG, "image/png"),
            ("tool.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/octet-stream"),
        ]
    )
    ticket = services.mail_receive(raw=raw).ticket

    [attachment] = ticket.attachments.all()
    assert attachment.filename == "screenshot.png" and attachment.content == PNG
    note = ticket.comments.get(is_internal=True)
    assert "tool.exe" in note.body


def test_an_auto_reply_is_stored_as_automatic(mailed_ticket: Ticket) -> None:
    raw = message(
        in_reply_to=token(mailed_ticket),
        body="I am out of office.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    inbound = services.mail_receive(raw=raw)

    assert inbound.is_automatic
    assert inbound.comment.ticket == mailed_ticket


def test_a_reply_to_a_ticket_from_another_address_is_a_new_ticket(mailed_ticket: Ticket) -> None:
    inbound = services.mail_receive(
        raw=message(sender="colleague@example.org", in_reply_to=token(mailed_ticket))
    )

    assert inbound.ticket != mailed_ticket
    assert (
        "neither that ticket's requester nor one of its CC contacts"
        in inbound.ticket.comments.get().body
    )


def test_a_manager_releases_quarantined_mail_once_a_queue_is_set(
    queue: Queue, manager: Any, agent: Any
) -> None:
    inbound = services.mail_receive(raw=message(to="lost@example.com"))
    with pytest.raises(PermissionDenied):
        services.mail_release(actor=agent, inbound=inbound)
    with pytest.raises(ValidationError):
        services.mail_release(actor=manager, inbound=inbound)  # still no queue
    inbound.queue = queue
    inbound.save(update_fields=["queue"])

    released = services.mail_release(actor=manager, inbound=inbound)

    assert released.status == InboundMessage.Status.TICKET
    assert released.ticket.queue == queue
    assert len(events("mail_released")) == 1
    with pytest.raises(ValidationError):
        services.mail_release(actor=manager, inbound=released)


def test_release_overrides_parse_problems_and_notes_them(queue: Queue, manager: Any) -> None:
    raw = message(body="Hello\x00there")
    inbound = services.mail_receive(raw=raw)
    assert inbound.status == InboundMessage.Status.QUARANTINED

    released = services.mail_release(actor=manager, inbound=inbound)

    note = released.ticket.comments.get(is_internal=True)
    assert "maria" in note.body and "NUL" in note.body


def test_an_erased_requester_writing_again_gets_a_fresh_contact(
    mailed_ticket: Ticket, manager: Any
) -> None:
    services.person_erase(actor=manager, contact=mailed_ticket.contact)
    inbound = services.mail_receive(raw=message(in_reply_to=token(mailed_ticket)))

    assert inbound.ticket != mailed_ticket
    assert Contact.objects.filter(erased_at__isnull=True).count() == 1
    assert not Comment.objects.filter(ticket=mailed_ticket).exists()


def test_the_ticket_page_folds_a_mailed_replys_quote(
    mailed_ticket: Ticket, agent_client: Any
) -> None:
    body = "Fixed, thanks.\n\nAm 6. Mai 2024 schrieb Support <s@example.com>:\n> Try again.\n"
    services.mail_receive(raw=message(body=body, in_reply_to=token(mailed_ticket)))

    page = agent_client.get(mailed_ticket.get_absolute_url()).content.decode()

    folded = page.split('<details class="quoted">', 1)
    assert len(folded) == 2 and "Fixed, thanks." in folded[0]
    assert "Try again." in folded[1] and "Try again." not in folded[0]
