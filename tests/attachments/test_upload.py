"""Uploading files to a ticket: accepted files are stored encrypted; every bad input gets a
form error next to the field and stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from audit.models import SecurityEvent
from tests.helpers import PDF, PNG, fresh, raw_get, upload
from tickets.models import Activity, Attachment


def post(client, ticket, file):
    return client.post(f"/tickets/{ticket.reference}/attachments/", {"file": file})


def test_a_png_is_attached_encrypted_and_listed(agent_client, agent, ticket_a):
    response = post(agent_client, ticket_a, upload("screen shot.png", PNG, "image/png"))
    assert response.status_code == 302 and response["Location"].endswith("#attachments")
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "screen shot.png",
        "image/png",
        len(PNG),
    )
    assert attachment.uploaded_by == agent and attachment.comment is None
    assert PNG not in raw_get("tickets_attachment", "content", attachment.pk)
    assert "screen shot" not in raw_get("tickets_attachment", "filename", attachment.pk)
    assert Activity.objects.filter(ticket=ticket_a, verb="attached").exists()
    page = agent_client.get(ticket_a.get_absolute_url()).content.decode()
    assert "screen shot.png" in page and attachment.get_absolute_url() in page


def test_the_browsers_content_type_is_ignored(agent_client, ticket_a):
    post(agent_client, ticket_a, upload("doc.pdf", PDF, "text/html"))
    assert Attachment.objects.get().content_type == "application/pdf"


def test_a_path_in_the_name_is_reduced_to_its_base_name(agent_client, ticket_a):
    post(
        agent_client,
        ticket_a,
        upload("../../../../etc/cron.d/evil", b"* * * * * root sh\n", "text/plain"),
    )
    attachment = Attachment.objects.get()
    assert attachment.filename == "evil.txt"
    assert "/" not in attachment.filename and ".." not in attachment.filename


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "page.html",
            b"<!doctype html><html><script>alert(document.cookie)</script></html>",
            "(HTML) cannot be attached",
        ),
        ("notes.txt", b"<html><body onload=alert(1)>", "(HTML) cannot be attached"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "(SVG image) cannot be attached",
        ),
        (
            "logo.png",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "(SVG image) cannot be attached",
        ),
        (
            "tool.exe",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
            "(unrecognised binary data) cannot be attached",
        ),
        ("archive.zip", b"PK\x03\x04\x14\x00\x00\x00broken", "cannot be attached"),
    ],
)
def test_markup_and_unknown_types_are_refused(agent_client, ticket_a, name, data, message):
    response = post(agent_client, ticket_a, upload(name, data))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Attachment.objects.exists()


def test_html_is_refused_even_if_the_allow_list_names_it(agent_client, ticket_a):
    with override_settings(ATTACHMENT_ALLOWED_TYPES=["text/html", "image/svg+xml", "text/plain"]):
        response = post(agent_client, ticket_a, upload("x.html", b"<html></html>"))
    assert response.status_code == 400 and not Attachment.objects.exists()


def test_an_empty_file_is_refused(agent_client, ticket_a):
    response = post(agent_client, ticket_a, upload("empty.txt", b""))
    assert response.status_code == 400
    assert "The submitted file is empty." in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_missing_file_is_refused(agent_client, ticket_a):
    response = agent_client.post(f"/tickets/{ticket_a.reference}/attachments/", {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_an_oversize_file_is_refused_with_its_size(agent_client, ticket_a):
    with override_settings(ATTACHMENT_MAX_BYTES=1024):
        response = post(agent_client, ticket_a, upload("big.txt", b"a" * 3000))
    assert response.status_code == 400
    assert "The file is 2.9 KB; the limit is 1.0 KB." in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_file_exactly_at_the_limit_is_accepted(agent_client, ticket_a):
    with override_settings(ATTACHMENT_MAX_BYTES=1024):
        response = post(agent_client, ticket_a, upload("edge.txt", b"b" * 1024))
    assert response.status_code == 302
    assert Attachment.objects.get().size == 1024


def test_the_default_limit_is_ten_megabytes(agent_client, ticket_a, settings):
    assert settings.ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024
    response = post(agent_client, ticket_a, upload("huge.txt", b"c" * (10 * 1024 * 1024 + 1)))
    assert response.status_code == 400
    assert "the limit is 10.0 MB" in response.content.decode()


def test_a_file_can_come_with_a_comment(agent_client, ticket_a):
    response = agent_client.post(
        f"/tickets/{ticket_a.reference}/comment/",
        {"body": "Here is the invoice", "file": upload("invoice.pdf", PDF)},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.comment.body == "Here is the invoice"
    assert "invoice.pdf" in agent_client.get(ticket_a.get_absolute_url()).content.decode()


def test_a_bad_file_on_a_comment_keeps_neither(agent_client, ticket_a):
    response = agent_client.post(
        f"/tickets/{ticket_a.reference}/comment/",
        {"body": "see attached", "file": upload("x.svg", b"<svg/>")},
    )
    assert response.status_code == 400
    assert "(SVG image) cannot be attached" in response.content.decode()
    assert not ticket_a.comments.exists() and not Attachment.objects.exists()


def test_other_queues_tickets_are_404(agent_client, ticket_b):
    assert post(agent_client, ticket_b, upload("a.png", PNG)).status_code == 404
    assert not Attachment.objects.exists()


def test_closed_tickets_take_no_files(agent_client, agent, ticket_a):
    from tickets import services

    services.ticket_change_status(actor=agent, ticket=ticket_a, status="resolved")
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="closed")
    response = post(agent_client, ticket_a, upload("late.png", PNG))
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_upload_is_post_only_and_needs_a_login(agent_client, ticket_a):
    url = f"/tickets/{ticket_a.reference}/attachments/"
    assert agent_client.get(url).status_code == 405
    # Anonymous requests never reach a view: the 2FA gate sends them to the login page.
    assert Client().get(url).status_code == 302
    assert Client().post(url, {}).status_code == 302


def test_uploading_records_no_security_event_but_model_history(agent_client, ticket_a):
    post(agent_client, ticket_a, upload("a.png", PNG))
    assert not SecurityEvent.objects.filter(action="attachment_downloaded").exists()
    assert fresh(Attachment.objects.get()).size == len(PNG)


def test_the_history_says_a_file_was_attached_without_naming_it(agent_client, ticket_a):
    post(agent_client, ticket_a, upload("secret-plan.png", PNG))
    page = agent_client.get(ticket_a.get_absolute_url()).content.decode()
    history = page.split('id="history-title"', 1)[1]
    assert "attached a file" in history
    assert "nobody" not in history and "secret-plan" not in history
