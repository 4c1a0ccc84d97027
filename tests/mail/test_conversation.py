"""The whole conversation by mail, on real servers: a requester's mail opens a ticket, the
agent's reply reaches them threaded under their own message, their answer lands on the same
ticket and reopens it; a bounce of a reply marks that reply bounced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mail.intake_helpers import QUEUE_ADDRESS, message, with_address
from tests.mail.outbox import run_worker, use_smtp
from tests.mail.smtpd import SmtpServer
from tickets import services
from tickets.mail.outbound_models import OutboundMail
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REQUESTER_ID = "<first.question@example.org>"


@pytest.fixture
def smtp(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    use_smtp(settings, smtp_server)
    return smtp_server


def test_mail_in_reply_out_and_the_answer_reopens_the_same_ticket(smtp, agent, queue_a):
    with_address(queue_a)
    services.mail_receive(raw=message(message_id=REQUESTER_ID, subject="VPN drops"))
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.queue, ticket.contact.email) == (
        "VPN drops",
        queue_a,
        "anna@example.org",
    )

    services.comment_add(actor=agent, ticket=ticket, body="Please update the client.")
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.PENDING)
    run_worker()
    received = [m for m in smtp.wait_for(1) if m.rcpt_tos == ["anna@example.org"]]
    reply = received[-1].message
    assert reply["Subject"] == f"Re: [{ticket.reference}] VPN drops"
    # Threaded under the requester's own message in their mail client.
    assert reply["In-Reply-To"] == REQUESTER_ID
    assert REQUESTER_ID in reply["References"].split()

    answer = message(
        subject=f"Re: {reply['Subject']}",
        in_reply_to=reply["Message-ID"],
        body="Updated, still drops.\n\nAm Montag schrieb Support:\n> Please update the client.",
    )
    services.mail_receive(raw=answer)
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert ticket.status == Status.OPEN  # the requester's answer reopened it
    latest = ticket.comments.order_by("-id").first()
    assert latest.author_contact == ticket.contact
    assert "Updated, still drops." in latest.body


def test_a_bounced_reply_is_marked_bounced_and_the_address_stops(smtp, agent, queue_a):
    with_address(queue_a)
    services.mail_receive(raw=message(message_id=REQUESTER_ID))
    ticket = Ticket.objects.get()
    services.comment_add(actor=agent, ticket=ticket, body="Which model?")
    run_worker()
    sent = OutboundMail.objects.get(comment__isnull=False)
    dsn = (
        f"From: Mail Delivery System <MAILER-DAEMON@example.org>\r\n"
        f"To: {QUEUE_ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn.1@example.org>\r\nAuto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        f"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; example.org\r\n"
        f"\r\nFinal-Recipient: rfc822; anna@example.org\r\nAction: failed\r\n"
        f"Status: 5.1.1\r\n\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {sent.message_id}\r\n"
        f"From: {QUEUE_ADDRESS}\r\nTo: anna@example.org\r\n\r\n--B--\r\n"
    ).encode()
    services.mail_receive(raw=dsn)
    sent.refresh_from_db()
    ticket.refresh_from_db()
    assert sent.state == "bounced"
    assert ticket.contact.email_bounced_at is not None
    services.comment_add(actor=agent, ticket=ticket, body="Hello?")
    assert OutboundMail.objects.filter(comment__isnull=False).count() == 1  # no more mail


def test_cc_contacts_get_the_replies_and_their_answers_land_on_the_ticket(smtp, agent, queue_a):
    with_address(queue_a)
    services.mail_receive(raw=message(message_id=REQUESTER_ID, subject="Printer jam"))
    ticket = Ticket.objects.get()
    services.ticket_set_cc(actor=agent, ticket=ticket, emails=["boss@example.org"])
    services.comment_add(actor=agent, ticket=ticket, body="Open tray 2.")
    run_worker()
    [received] = smtp.wait_for(1)
    assert sorted(received.rcpt_tos) == ["anna@example.org", "boss@example.org"]
    assert received.message["To"] == "anna@example.org"
    assert received.message["Cc"] == "boss@example.org"

    tag = f"Re: [{ticket.reference}] Printer jam"
    services.mail_receive(raw=message(sender="boss@example.org", subject=tag, body="Done."))
    services.mail_receive(raw=message(sender="eve@example.net", subject=tag, body="Let me in"))
    ticket.refresh_from_db()
    latest = ticket.comments.order_by("-id").first()
    assert latest.author_contact.email == "boss@example.org"
    assert "Done." in latest.body
    # A stranger who copies the tag gets a ticket of their own, never a comment here.
    assert Ticket.objects.count() == 2
