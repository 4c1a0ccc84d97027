"""The admin site for mail in: the quarantine list, release and delete, the queue's address
and its IMAP mailbox inline (password kept encrypted, plain IMAP refused)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from audit.models import SecurityEvent
from tests.mail.intake_helpers import message, with_address
from tickets import services
from tickets.mail.inbound_models import InboundMessage, QueueMailbox
from tickets.models import Queue

pytestmark = pytest.mark.django_db
LIST = "/admin/tickets/inboundmessage/"


@pytest.fixture
def quarantined(queue_a: Queue) -> InboundMessage:
    with_address(queue_a)
    return services.mail_receive(raw=message(to="lost@example.com", subject="Lost mail"))


def test_managers_see_the_quarantine_with_sender_and_subject(
    manager_client: Client, quarantined: InboundMessage
) -> None:
    response = manager_client.get(LIST, {"status__exact": "quarantined"})

    assert response.status_code == 200
    assert b"Lost mail" in response.content and b"anna@example.org" in response.content
    detail = manager_client.get(f"{LIST}{quarantined.pk}/change/")
    assert detail.status_code == 200 and b"Subject: Lost mail" in detail.content


def test_agents_cannot_see_received_mail(agent_client: Client, quarantined: Any) -> None:
    assert agent_client.get(LIST).status_code in (302, 403)


def test_a_manager_sets_the_queue_and_releases(
    manager_client: Client, quarantined: InboundMessage, queue_a: Queue
) -> None:
    response = manager_client.post(f"{LIST}{quarantined.pk}/change/", {"queue": queue_a.pk})
    assert response.status_code == 302
    response = manager_client.post(
        LIST, {"action": "release", "_selected_action": [quarantined.pk]}, follow=True
    )

    quarantined.refresh_from_db()
    assert quarantined.status == "ticket" and quarantined.ticket.queue == queue_a
    assert b"Released 1 message" in response.content


def test_release_without_a_queue_says_why(
    manager_client: Client, quarantined: InboundMessage
) -> None:
    response = manager_client.post(
        LIST, {"action": "release", "_selected_action": [quarantined.pk]}, follow=True
    )

    assert b"no queue" in response.content
    quarantined.refresh_from_db()
    assert quarantined.status == "quarantined"


def test_a_manager_deletes_quarantined_mail_but_not_a_tickets_source(
    manager_client: Client, quarantined: InboundMessage, queue_a: Queue
) -> None:
    stored = services.mail_receive(raw=message())

    def delete(*pks: int) -> int:
        data = {"action": "delete_selected", "_selected_action": list(pks), "post": "yes"}
        return manager_client.post(LIST, data).status_code

    assert delete(quarantined.pk, stored.pk) == 403  # a ticket's source goes with its ticket
    assert InboundMessage.objects.count() == 2
    assert delete(quarantined.pk) == 302
    assert list(InboundMessage.objects.all()) == [stored]
    event = SecurityEvent.objects.get(action="mail_deleted")
    assert event.resource == f"mail:{quarantined.pk}" and event.actor_username == "maria"


def test_deleting_one_message_from_its_page_is_recorded(
    manager_client: Client, quarantined: InboundMessage
) -> None:
    response = manager_client.post(f"{LIST}{quarantined.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not InboundMessage.objects.exists()
    assert SecurityEvent.objects.filter(action="mail_deleted").count() == 1


def test_only_managers_delete_mail_and_only_quarantined_or_ignored(
    agent: Any, manager: Any, quarantined: InboundMessage
) -> None:
    stored = services.mail_receive(raw=message())

    with pytest.raises(PermissionDenied):
        services.mail_delete(actor=agent, pks=[quarantined.pk])
    assert services.mail_delete(actor=manager, pks=[quarantined.pk, stored.pk]) == 1
    assert list(InboundMessage.objects.all()) == [stored]


def test_the_queue_form_sets_the_address_and_an_imaps_mailbox(
    manager_client: Client, queue_a: Queue
) -> None:
    url = f"/admin/tickets/queue/{queue_a.pk}/change/"
    form = manager_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "members"}
    data.update(
        {
            "email_address": "alpha@helpdesk.example.com",
            "mailbox-TOTAL_FORMS": 1,
            "mailbox-INITIAL_FORMS": 0,
            "mailbox-0-enabled": "on",
            "mailbox-0-host": "imap.example.com",
            "mailbox-0-port": 993,
            "mailbox-0-use_ssl": "on",
            "mailbox-0-username": "alpha",
            "mailbox-0-password": "s3cret-imap",
            "mailbox-0-folder": "INBOX",
        }
    )
    response = manager_client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors

    queue_a.refresh_from_db()
    assert queue_a.email_address == "alpha@helpdesk.example.com"
    assert QueueMailbox.objects.get(queue=queue_a).password == "s3cret-imap"
    page = manager_client.get(url)
    assert b"s3cret-imap" not in page.content

    data.update({"mailbox-INITIAL_FORMS": 1, "mailbox-0-id": QueueMailbox.objects.get().pk})
    data.update({"mailbox-0-queue": queue_a.pk, "mailbox-0-password": ""})
    del data["mailbox-0-use_ssl"]
    response = manager_client.post(url, data)
    assert response.status_code == 200  # plain IMAP refused
    assert b"MAIL_ALLOW_PLAINTEXT" in response.content
    data["mailbox-0-use_ssl"] = "on"
    assert manager_client.post(url, data).status_code == 302
    assert QueueMailbox.objects.get().password == "s3cret-imap"  # kept when left empty
