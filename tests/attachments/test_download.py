"""Downloading an attachment: access-checked, always a download, never sniffed, audited."""

from __future__ import annotations

import uuid

import pytest

from audit.models import SecurityEvent
from tests.conftest import login
from tests.helpers import PNG, flip_bit, raw_get, raw_set, upload
from tickets.services import attachment_add


@pytest.fixture
def attachment(agent, ticket_a):
    return attachment_add(
        actor=agent, ticket=ticket_a, upload=upload('Résumé "final".txt', b"hello\n")
    )


def test_it_downloads_the_decrypted_file_as_an_attachment(agent_client, agent, attachment):
    response = agent_client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response.content == b"hello\n"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''R%C3%A9sum%C3%A9%20final.txt"  # quotes dropped at upload
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_a_file_whose_name_cannot_be_decrypted_downloads_under_a_neutral_name(
    agent_client, attachment
):
    stored = raw_get("tickets_attachment", "filename", attachment.pk)
    raw_set("tickets_attachment", "filename", attachment.pk, flip_bit(stored))
    response = agent_client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response.content == b"hello\n"
    assert response["Content-Disposition"] == (
        f'attachment; filename="attachment-{attachment.pk}.txt"'
    )


def test_each_download_is_audited(agent_client, agent, attachment):
    agent_client.get(attachment.get_absolute_url(), REMOTE_ADDR="192.0.2.44")
    event = SecurityEvent.objects.get(action="attachment_downloaded")
    assert (event.actor, event.ip, event.resource) == (
        agent,
        "192.0.2.44",
        f"attachment:{attachment.uid}",
    )
    assert event.details == {"ticket": attachment.ticket.reference, "size": 6}
    assert "sum" not in str(event.details)  # no filename in the event


def test_agents_of_other_queues_get_404(client, agent_b, attachment):
    response = login(client, agent_b).get(attachment.get_absolute_url())
    assert response.status_code == 404
    assert not SecurityEvent.objects.filter(action="attachment_downloaded").exists()


def test_an_attachment_is_only_reachable_through_its_own_ticket(
    agent_client, agent, queue_a, attachment
):
    from tickets import services

    other = services.ticket_create(actor=agent, queue=queue_a, subject="other")
    url = f"/tickets/{other.reference}/attachments/{attachment.uid}/"
    assert agent_client.get(url).status_code == 404


def test_unknown_and_malformed_ids_are_404(agent_client, attachment):
    ref = attachment.ticket.reference
    assert agent_client.get(f"/tickets/{ref}/attachments/{uuid.uuid4()}/").status_code == 404
    assert agent_client.get(f"/tickets/{ref}/attachments/../../etc/passwd/").status_code == 404
    assert agent_client.get(f"/tickets/{ref}/attachments/{attachment.pk}/").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, attachment):
    assert client.get(attachment.get_absolute_url()).status_code == 302


def test_images_are_downloaded_too_not_shown_inline(agent_client, agent, ticket_a):
    image = attachment_add(actor=agent, ticket=ticket_a, upload=upload("a.png", PNG))
    response = agent_client.get(image.get_absolute_url())
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
