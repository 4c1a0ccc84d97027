"""Agents' notices and the resolve note: mail on assignment and on the requester's reply, as
each agent's preference says, never about their own action; the queue's resolve note."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_user
from tests.mail.outbox import run_worker, use_smtp
from tests.mail.smtpd import SmtpServer
from tickets import services
from tickets.mail.outbound_models import (
    MailNotificationPreference,
    OutboundMail,
    QueueMailSettings,
)
from tickets.models import Contact, Queue, Status, Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def smtp(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    use_smtp(settings, smtp_server)
    settings.MAIL_SITE_URL = "https://helpdesk.example.org"
    return smtp_server


@pytest.fixture
def colleague(queue_a: Queue) -> Any:
    user = make_user("carol", "agent")
    queue_a.members.add(user)
    return user


@pytest.fixture
def requester(agent: Any) -> Contact:
    return services.contact_get_or_create(actor=agent, email="rita@example.com", name="Rita")


@pytest.fixture
def ticket(agent: Any, queue_a: Queue, requester: Contact) -> Ticket:
    return services.ticket_create(actor=agent, queue=queue_a, subject="VPN down", contact=requester)


def test_an_agent_is_mailed_when_someone_else_assigns_them(
    smtp: SmtpServer, agent: Any, colleague: Any, ticket: Ticket
) -> None:
    services.ticket_assign(actor=agent, ticket=ticket, assignee=colleague)
    run_worker()
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["carol@example.org"]
    message = received.message
    assert message["Subject"] == f"[{ticket.reference}] Assigned to you: VPN down"
    assert message["Auto-Submitted"] == "auto-generated"
    assert f"https://helpdesk.example.org/tickets/{ticket.reference}/" in message.get_content()
    assert "rita@example.com" not in received.data.decode()  # no requester data in notices


def test_nobody_is_mailed_about_their_own_action(
    smtp: SmtpServer, agent: Any, queue_a: Queue, requester: Contact, ticket: Ticket
) -> None:
    services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
    services.ticket_create(actor=agent, queue=queue_a, subject="Mine", assignee=agent)
    run_worker()
    assert not OutboundMail.objects.exists()


def test_a_ticket_created_for_someone_else_tells_them(
    smtp: SmtpServer, agent: Any, colleague: Any, queue_a: Queue
) -> None:
    services.ticket_create(actor=agent, queue=queue_a, subject="For you", assignee=colleague)
    run_worker()
    assert smtp.wait_for(1)[0].rcpt_tos == ["carol@example.org"]


def test_the_assignee_hears_of_the_requesters_reply(
    smtp: SmtpServer, agent: Any, colleague: Any, requester: Contact, ticket: Ticket
) -> None:
    services.ticket_assign(actor=colleague, ticket=ticket, assignee=colleague)  # own: silent
    services.comment_add(actor=requester, ticket=ticket, body="Still broken.")
    run_worker()
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["carol@example.org"]
    assert received.message["Subject"] == f"[{ticket.reference}] Requester replied: VPN down"
    assert "Still broken." not in received.data.decode()  # the text stays in the helpdesk
    assert OutboundMail.objects.get().kind == "requester_replied"


def test_preferences_turn_each_notice_off(
    smtp: SmtpServer, agent: Any, colleague: Any, requester: Contact, ticket: Ticket
) -> None:
    MailNotificationPreference.objects.create(
        user=colleague, on_assignment=False, on_requester_reply=False
    )
    services.ticket_assign(actor=agent, ticket=ticket, assignee=colleague)
    services.comment_add(actor=requester, ticket=ticket, body="Hello?")
    run_worker()
    assert not OutboundMail.objects.exists()


def test_the_resolve_note_goes_to_the_requester_when_the_queue_wants_it(
    smtp: SmtpServer, agent: Any, queue_a: Queue, ticket: Ticket
) -> None:
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.PENDING)
    QueueMailSettings.objects.create(
        queue=queue_a, send_resolved_note=True, resolved_template="{agent} resolved {reference}."
    )
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.RESOLVED)
    run_worker()
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["rita@example.com"]
    assert received.message["Subject"] == f"Re: [{ticket.reference}] VPN down"
    assert received.message.get_content().strip() == f"alice resolved {ticket.reference}."


def test_no_resolve_note_unless_the_queue_turned_it_on(
    smtp: SmtpServer, agent: Any, ticket: Ticket
) -> None:
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.RESOLVED)
    run_worker()
    assert not OutboundMail.objects.exists()


def test_a_template_with_an_unknown_placeholder_is_refused(queue_a: Queue) -> None:
    from django.core.exceptions import ValidationError

    options = QueueMailSettings(queue=queue_a, resolved_template="Hi {contact.email.__class__}")
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        options.full_clean()


def test_a_mentioned_colleague_is_mailed_a_link_to_the_note_not_its_text(
    smtp: SmtpServer, agent: Any, colleague: Any, ticket: Ticket
) -> None:
    note = services.comment_add(
        actor=agent, ticket=ticket, body="@carol the door code is 4711", is_internal=True
    )
    run_worker()
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["carol@example.org"]
    message = received.message
    assert message["Subject"] == f"[{ticket.reference}] Mentioned in a note: VPN down"
    assert message["Auto-Submitted"] == "auto-generated"
    link = f"https://helpdesk.example.org/tickets/{ticket.reference}/#c-{note.pk}"
    assert link in message.get_content()
    assert "by alice" in message.get_content()
    assert "4711" not in received.data.decode()  # the note stays in the helpdesk
    assert "rita@example.com" not in received.data.decode()
    assert OutboundMail.objects.get().kind == "mention"


def test_no_mention_mail_to_an_agent_who_cannot_see_the_ticket(
    smtp: SmtpServer, agent: Any, agent_b: Any, ticket: Ticket
) -> None:
    services.comment_add(actor=agent, ticket=ticket, body="@bob have a look", is_internal=True)
    run_worker()
    assert not OutboundMail.objects.exists()  # bob works another queue: he learns nothing


def test_no_mention_mail_for_a_public_reply_or_ones_own_name(
    smtp: SmtpServer, agent: Any, colleague: Any, queue_a: Queue
) -> None:
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="No requester")
    services.comment_add(actor=agent, ticket=ticket, body="@carol see the reply")  # public
    services.comment_add(actor=agent, ticket=ticket, body="@alice note to self", is_internal=True)
    run_worker()
    assert not OutboundMail.objects.exists()


def test_the_mention_notice_follows_the_preference_and_the_in_app_one_stays(
    smtp: SmtpServer, agent: Any, colleague: Any, ticket: Ticket
) -> None:
    from tickets.agent_models import Notification

    MailNotificationPreference.objects.create(user=colleague, on_mention=False)
    services.comment_add(actor=agent, ticket=ticket, body="@carol FYI", is_internal=True)
    run_worker()
    assert not OutboundMail.objects.exists()
    assert Notification.objects.filter(user=colleague).count() == 1
