"""Replies out: a staff member's public reply reaches the requester through the real task
worker and a real SMTP server (aiosmtpd), threaded and tagged; internal notes, bounced
addresses and auto-replies get nothing; SMTP failures are retried with backoff; a reply and
its queued mail commit together or not at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.conftest import login
from tests.mail.dovecot import free_port
from tests.mail.outbox import run_worker, serving, use_smtp
from tests.mail.smtpd import SmtpServer
from tickets import services
from tickets.mail.outbound_models import OutboundMail, QueueMailSettings
from tickets.mail.threading import inspect_message_ids
from tickets.models import Contact, Queue, Ticket
from tickets.services.mail_out import outbound_send

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

QUEUE_ADDRESS = "support@alpha.example"
REQUESTER = "rita@example.com"


@pytest.fixture
def smtp(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    use_smtp(settings, smtp_server)
    return smtp_server


@pytest.fixture
def requester(agent: Any) -> Contact:
    return services.contact_get_or_create(actor=agent, email=REQUESTER, name="Rita Requester")


@pytest.fixture
def ticket(agent: Any, queue_a: Queue, requester: Contact) -> Ticket:
    queue_a.email_address = QUEUE_ADDRESS
    queue_a.save(update_fields=["email_address"])
    return services.ticket_create(
        actor=agent, queue=queue_a, subject="Printer on fire", contact=requester
    )


def text(received: Any) -> str:
    return received.message.get_content().replace("\r\n", "\n")


def reply(agent: Any, ticket: Ticket, body: str = "We are on it.", **kwargs: Any) -> Any:
    return services.comment_add(actor=agent, ticket=ticket, body=body, **kwargs)


def test_a_public_reply_reaches_the_requester_from_the_queue_address(
    smtp: SmtpServer, agent: Any, ticket: Ticket
) -> None:
    comment = reply(agent, ticket, "Switch it off, please.")
    assert OutboundMail.objects.get().state == "queued"  # queued, not sent in the request
    assert smtp.messages == []

    run_worker()

    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == [REQUESTER]
    message = received.message
    assert message["To"] == REQUESTER
    assert message["From"] == f"Alpha support <{QUEUE_ADDRESS}>"
    assert received.mail_from == QUEUE_ADDRESS
    assert message["Subject"] == f"Re: [{ticket.reference}] Printer on fire"
    assert "Switch it off, please." in message.get_content()
    assert "Auto-Submitted" not in message
    assert inspect_message_ids([message["Message-ID"]]).ticket_ids == [ticket.pk]
    mail = OutboundMail.objects.get()
    assert (mail.state, mail.attempts, mail.comment_id) == ("sent", 1, comment.pk)
    assert mail.sent_at is not None


def test_replies_thread_by_message_id(smtp: SmtpServer, agent: Any, ticket: Ticket) -> None:
    reply(agent, ticket, "First answer.")
    run_worker()
    reply(agent, ticket, "Second answer.")
    run_worker()
    reply(agent, ticket, "Third answer.")
    run_worker()

    # Long ids are folded onto a continuation line; unfolded, each header is a list of ids.
    first, second, third = (
        {
            name: (m.message[name] or "").split()
            for name in ("Message-ID", "In-Reply-To", "References")
        }
        for m in smtp.wait_for(3)
    )
    assert first["In-Reply-To"] == [] and first["References"] == []
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"] == first["Message-ID"] + second["Message-ID"]
    assert len({first["Message-ID"][0], second["Message-ID"][0], third["Message-ID"][0]}) == 3


def test_the_queue_signature_closes_a_reply(
    smtp: SmtpServer, agent: Any, ticket: Ticket, queue_a: Queue
) -> None:
    QueueMailSettings.objects.create(queue=queue_a, signature="Your {queue} team")
    reply(agent, ticket, "Done.")
    run_worker()
    body = text(smtp.wait_for(1)[0])
    assert body.rstrip().endswith("Done.\n\n-- \nYour Alpha support team")


def test_without_a_queue_address_mail_comes_from_the_default_sender(
    smtp: SmtpServer, settings: Any, agent: Any, queue_a: Queue, requester: Contact
) -> None:
    settings.DEFAULT_FROM_EMAIL = "Helpdesk <helpdesk@example.org>"
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="Hi", contact=requester)
    reply(agent, ticket)
    run_worker()
    received = smtp.wait_for(1)[0]
    assert received.message["From"] == "Alpha support <helpdesk@example.org>"
    assert received.message["Message-ID"].endswith("@example.org>")


def test_internal_notes_send_nothing(smtp: SmtpServer, agent: Any, ticket: Ticket) -> None:
    reply(agent, ticket, "Between us: the printer is haunted.", is_internal=True)
    run_worker()
    assert not OutboundMail.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert smtp.messages == []


def test_no_mail_goes_to_a_bounced_address_and_the_ticket_says_so(
    smtp: SmtpServer, client: Any, agent: Any, ticket: Ticket, requester: Contact
) -> None:
    requester.email_bounced_at = timezone.now()
    requester.save(update_fields=["email_bounced_at"])
    reply(agent, ticket)
    run_worker()
    assert smtp.messages == []
    assert not OutboundMail.objects.exists()
    page = login(client, agent).get(ticket.get_absolute_url()).content.decode()
    assert "Not mailed: the address bounces" in page
    assert "bounces: no mail is sent" in page


def test_a_ticket_without_a_requester_sends_nothing(
    smtp: SmtpServer, agent: Any, queue_a: Queue
) -> None:
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="Internal work")
    reply(agent, ticket)
    run_worker()
    assert not OutboundMail.objects.exists()


def test_the_acknowledgement_goes_out_but_never_to_an_auto_reply(
    smtp: SmtpServer, queue_a: Queue, requester: Contact
) -> None:
    queue_a.email_address = QUEUE_ADDRESS
    queue_a.save(update_fields=["email_address"])
    QueueMailSettings.objects.create(
        queue=queue_a,
        send_acknowledgement=True,
        acknowledgement_template="Got {reference}: {subject} ({queue}).\n{signature}",
        signature="-- {queue}",
    )
    services.ticket_create(
        actor=requester, queue=queue_a, subject="Out of office", is_automatic=True
    )
    ticket = services.ticket_create(actor=requester, queue=queue_a, subject="Printer jam")
    run_worker()

    [received] = smtp.wait_for(1)
    message = received.message
    assert received.rcpt_tos == [REQUESTER]
    assert message["Subject"] == f"Re: [{ticket.reference}] Printer jam"
    assert message["Auto-Submitted"] == "auto-replied"
    assert text(received).strip() == (
        f"Got {ticket.reference}: Printer jam (Alpha support).\n-- Alpha support"
    )
    assert inspect_message_ids([message["Message-ID"]]).ticket_ids == [ticket.pk]


def test_a_subject_cannot_inject_headers(smtp: SmtpServer, agent: Any, ticket: Ticket) -> None:
    services.ticket_change_subject(
        actor=agent, ticket=ticket, subject="Help\u2028Bcc: evil@example.net\u0085X-Evil: 1"
    )
    reply(agent, ticket)
    run_worker()
    received = smtp.wait_for(1)[0]
    assert received.rcpt_tos == [REQUESTER]
    assert "Bcc" not in received.message and "X-Evil" not in received.message
    assert received.message["Subject"] == (
        f"Re: [{ticket.reference}] Help Bcc: evil@example.net X-Evil: 1"
    )


def test_an_smtp_failure_is_retried_with_backoff(
    smtp: SmtpServer, settings: Any, agent: Any, ticket: Ticket
) -> None:
    settings.MAIL_RETRY_BASE_SECONDS = 60
    reply(agent, ticket)
    stopped = SmtpServer(host=smtp.host, port=free_port())  # nobody listens there yet
    settings.EMAIL_PORT = stopped.port
    before = timezone.now()
    run_worker()

    mail = OutboundMail.objects.get()
    assert (mail.state, mail.attempts) == ("queued", 1)
    assert "ConnectionRefusedError" in mail.last_error
    assert before + timedelta(seconds=59) < mail.next_attempt_at < before + timedelta(minutes=2)
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after == mail.next_attempt_at  # not before the backoff: not ready yet
    run_worker()
    assert OutboundMail.objects.get().attempts == 1

    with serving(stopped):
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_worker()
        [received] = stopped.wait_for(1)
    assert received.rcpt_tos == [REQUESTER]
    mail.refresh_from_db()
    assert (mail.state, mail.attempts, mail.last_error) == ("sent", 2, "")


def test_after_the_last_attempt_the_mail_is_marked_failed(
    settings: Any, smtp: SmtpServer, agent: Any, ticket: Ticket
) -> None:
    settings.MAIL_RETRY_BASE_SECONDS = 0
    settings.MAIL_SEND_MAX_ATTEMPTS = 3
    settings.EMAIL_PORT = free_port()  # nothing listens there
    reply(agent, ticket)
    run_worker()  # three attempts, each retry ready at once (no backoff), then failed
    mail = OutboundMail.objects.get()
    assert (mail.state, mail.attempts, mail.next_attempt_at) == ("failed", 3, None)
    assert mail.last_error
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_permanent_refusal_is_not_retried(
    settings: Any, smtp: SmtpServer, agent: Any, ticket: Ticket
) -> None:
    class Refusing(SmtpServer):
        async def handle_RCPT(self, *args: Any) -> str:
            return "550 5.1.1 No such user here"

    refusing = Refusing(host=smtp.host, port=free_port())
    settings.EMAIL_PORT = refusing.port
    reply(agent, ticket)
    with serving(refusing):
        run_worker()
    mail = OutboundMail.objects.get()
    assert (mail.state, mail.attempts) == ("failed", 1)
    assert mail.last_error == "recipient refused (550)"
    assert REQUESTER not in mail.last_error


def test_sending_twice_sends_once(smtp: SmtpServer, agent: Any, ticket: Ticket) -> None:
    reply(agent, ticket)
    mail = OutboundMail.objects.get()
    assert outbound_send(mail.pk) == "sent"
    assert outbound_send(mail.pk) == "nothing to send"
    run_worker()  # the queued task finds the mail sent already
    assert len(smtp.wait_for(1)) == 1
    assert OutboundMail.objects.get().attempts == 1


def test_a_rolled_back_reply_queues_nothing(smtp: SmtpServer, agent: Any, ticket: Ticket) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        reply(agent, ticket)
        assert OutboundMail.objects.count() == 1 and DBTaskResult.objects.count() == 1
        raise RuntimeError("the request failed after the reply")
    assert not OutboundMail.objects.exists()
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert smtp.messages == []


def test_the_immediate_backend_sends_after_the_commit_only(
    settings: Any, smtp: SmtpServer, agent: Any, ticket: Ticket
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(RuntimeError), transaction.atomic():
        reply(agent, ticket, "Never saved.")
        raise RuntimeError("rolled back")
    assert smtp.messages == [] and not OutboundMail.objects.exists()

    with transaction.atomic():
        reply(agent, ticket, "Saved.")
        assert smtp.messages == []  # not before the commit
    [received] = smtp.wait_for(1)
    assert "Saved." in received.message.get_content()
    assert OutboundMail.objects.get().state == "sent"
    assert not DBTaskResult.objects.exists()


def test_erasing_the_requester_forgets_their_address_in_sent_mail(
    smtp: SmtpServer, agent: Any, ticket: Ticket, requester: Contact
) -> None:
    reply(agent, ticket, "Sent one.")
    run_worker()
    reply(agent, ticket, "Still queued.")
    services.person_erase(actor=agent, contact=requester)
    sent, queued = OutboundMail.objects.order_by("id")
    assert (sent.recipient_list, sent.state) == ([], "sent")
    assert (queued.recipient_list, queued.state, queued.last_error) == ([], "failed", "erased")
    run_worker()
    assert len(smtp.messages) == 1

    services.ticket_anonymise(actor=agent, ticket=ticket)
    sent.refresh_from_db()
    assert (str(sent.body), sent.subject) == ("", "[purged]")
