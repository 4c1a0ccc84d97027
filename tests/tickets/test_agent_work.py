"""The ticket page's agent work: send with a status in one POST, a confirmed Close, history
without reply lines, display names, inline subject/requester/CC, following, mentions and
canned responses."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import login, make_user
from tickets import services
from tickets.agent_models import CannedResponse, Notification, TicketCC, TicketWatch
from tickets.mail.outbound_models import QueueMailSettings
from tickets.models import Activity, Comment, Status, Ticket

pytestmark = pytest.mark.django_db


def url(ticket: Ticket, action: str = "") -> str:
    return f"/tickets/{ticket.reference}/{action + '/' if action else ''}"


# -- send with a status change, in one round trip


def test_send_and_resolve_is_one_post_that_lands_on_the_new_comment(agent_client, ticket_a):
    response = agent_client.post(
        url(ticket_a, "comment"), {"body": "Fixed it.", "then": "resolved"}
    )
    comment = Comment.objects.get(ticket=ticket_a)
    assert response.status_code == 302
    assert response["Location"] == f"{ticket_a.get_absolute_url()}#c-{comment.pk}"
    ticket_a.refresh_from_db()
    assert ticket_a.status == Status.RESOLVED
    assert ticket_a.first_response_at is not None


def test_send_and_set_pending(agent_client, ticket_a):
    agent_client.post(url(ticket_a, "comment"), {"body": "Waiting for you.", "then": "pending"})
    assert Ticket.objects.get(pk=ticket_a.pk).status == Status.PENDING


def test_a_reply_cannot_close_and_then_nothing_is_saved(agent, ticket_a):
    with pytest.raises(ValidationError):
        services.reply_and_set_status(actor=agent, ticket=ticket_a, body="x", status="closed")
    assert not Comment.objects.exists()


def test_a_refused_status_change_keeps_the_reply_unsaved(agent_client, ticket_a):
    services.ticket_change_status(
        actor=ticket_a.assignee or ticket_a.created_by, ticket=ticket_a, status="open"
    )
    services.ticket_change_status(actor=ticket_a.created_by, ticket=ticket_a, status="resolved")
    response = agent_client.post(url(ticket_a, "comment"), {"body": "More.", "then": "pending"})
    assert response.status_code == 400
    assert "cannot become pending" in response.content.decode()
    assert not Comment.objects.exists()


def test_a_canned_status_and_priority_go_with_the_plain_send(agent_client, ticket_a):
    agent_client.post(
        url(ticket_a, "comment"),
        {"body": "Done.", "then": "", "status": "resolved", "priority": "4"},
    )
    ticket_a.refresh_from_db()
    assert (ticket_a.status, ticket_a.priority) == (Status.RESOLVED, 4)


def test_the_composer_is_above_the_conversation(agent_client, agent, ticket_a):
    services.comment_add(actor=agent, ticket=ticket_a, body="An old reply")
    page = agent_client.get(url(ticket_a)).content.decode()
    assert page.index("data-composer") < page.index("An old reply")
    assert "Send and resolve" in page and "Send and set pending" in page


# -- closing is confirmed, on the server too


def test_closing_without_confirmation_is_refused(agent, agent_client, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="resolved")
    response = agent_client.post(url(ticket_a, "status"), {"status": "closed"})
    assert response.status_code == 400
    assert "closing is final" in response.content.decode()
    assert Ticket.objects.get(pk=ticket_a.pk).status == Status.RESOLVED
    response = agent_client.post(url(ticket_a, "status"), {"status": "closed", "confirm": "on"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket_a.pk).status == Status.CLOSED


# -- history and names


def test_the_history_leaves_out_the_replies_the_conversation_shows(agent, agent_client, ticket_a):
    services.comment_add(actor=agent, ticket=ticket_a, body="Hello")
    services.comment_add(actor=agent, ticket=ticket_a, body="Note", is_internal=True)
    assert Activity.objects.filter(ticket=ticket_a, verb__in=["commented", "noted"]).count() == 2
    page = agent_client.get(url(ticket_a)).content.decode()
    history = page[page.index('id="history-title"') :]
    assert "replied" not in history and "added an internal note" not in history
    assert "changed status" in history


def test_people_appear_by_full_name(agent, agent_client, ticket_a):
    agent.first_name, agent.last_name = "Alice", "Adams"
    agent.save(update_fields=["first_name", "last_name"])
    services.comment_add(actor=agent, ticket=ticket_a, body="Hi")
    services.ticket_assign(actor=agent, ticket=ticket_a, assignee=agent)
    page = agent_client.get(url(ticket_a)).content.decode()
    assert "<strong>Alice Adams</strong>" in page
    assert "<dd>Alice Adams</dd>" in page
    assert f'<option value="{agent.pk}" selected>Alice Adams</option>' in page  # the assign form
    assert '<span class="who" title="alice">Alice Adams' in page  # the header


# -- inline edits


def test_the_subject_is_edited_on_the_page(agent_client, ticket_a):
    response = agent_client.post(url(ticket_a, "subject"), {"subject": "Printer fixed?"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket_a.pk).subject == "Printer fixed?"
    assert Activity.objects.filter(ticket=ticket_a, verb="subject").exists()


def test_an_empty_subject_is_a_clear_error(agent_client, ticket_a):
    response = agent_client.post(url(ticket_a, "subject"), {"subject": ""})
    assert response.status_code == 400
    assert Ticket.objects.get(pk=ticket_a.pk).subject == "Printer on fire"


def test_the_requester_is_changed_on_the_page(agent_client, ticket_a):
    response = agent_client.post(
        url(ticket_a, "requester"), {"email": "pat@example.com", "name": "Pat"}
    )
    assert response.status_code == 302
    contact = Ticket.objects.get(pk=ticket_a.pk).contact
    assert (contact.email, contact.name) == ("pat@example.com", "Pat")


def test_cc_contacts_are_set_replaced_and_checked(agent, agent_client, ticket_a):
    response = agent_client.post(url(ticket_a, "cc"), {"cc": "a@example.com, b@example.com"})
    assert response.status_code == 302
    emails = sorted(str(c.contact.email) for c in TicketCC.objects.filter(ticket=ticket_a))
    assert emails == ["a@example.com", "b@example.com"]
    agent_client.post(url(ticket_a, "cc"), {"cc": "b@example.com\nB@example.com"})
    assert [str(c.contact.email) for c in TicketCC.objects.all()] == ["b@example.com"]
    response = agent_client.post(url(ticket_a, "cc"), {"cc": "b@example.com, nonsense"})
    assert response.status_code == 400
    assert "nonsense is not an email address." in response.content.decode()
    assert TicketCC.objects.count() == 1
    assert "b@example.com" in agent_client.get(url(ticket_a)).content.decode()


def test_another_queues_agent_cannot_touch_the_cc(agent_b, ticket_a, client):
    login(client, agent_b)
    assert client.post(url(ticket_a, "cc"), {"cc": "x@example.com"}).status_code == 404
    assert not TicketCC.objects.exists()


# -- following


def test_following_lists_followed_tickets_the_agent_can_still_see(
    agent, agent_client, ticket_a, ticket_b
):
    agent_client.post(url(ticket_a, "follow"), {"follow": "1"})
    TicketWatch.objects.create(ticket=ticket_b, user=agent)  # followed, then moved away
    page = agent_client.get("/tickets/following/").content.decode()
    assert ticket_a.reference in page and ticket_b.reference not in page
    agent_client.post(url(ticket_a, "follow"), {"follow": "0"})
    assert ticket_a.reference not in agent_client.get("/tickets/following/").content.decode()


def test_nobody_follows_a_ticket_they_cannot_see(agent, ticket_b):
    with pytest.raises(PermissionDenied):
        services.ticket_follow(actor=agent, ticket=ticket_b)


# -- mentions


def test_a_mention_notifies_a_colleague_who_can_see_the_ticket_only(
    agent, agent_b, queue_a, ticket_a, manager
):
    carol = make_user("carol", "agent")
    queue_a.members.add(carol)
    services.comment_add(
        actor=agent,
        ticket=ticket_a,
        body="@carol and @bob and @maria, please look. @nobody",
        is_internal=True,
    )
    notified = sorted(n.user.username for n in Notification.objects.all())
    assert notified == ["carol", "maria"]  # bob works another queue: never told


def test_a_public_reply_notifies_nobody(agent, queue_a, ticket_a):
    carol = make_user("carol", "agent")
    queue_a.members.add(carol)
    services.comment_add(actor=agent, ticket=ticket_a, body="@carol see this")
    assert not Notification.objects.exists()


def test_notifications_are_listed_and_marked_read(agent, queue_a, ticket_a, client):
    carol = make_user("carol", "agent")
    queue_a.members.add(carol)
    services.comment_add(actor=agent, ticket=ticket_a, body="@carol look", is_internal=True)
    login(client, carol)
    page = client.get("/notifications/").content.decode()
    assert ticket_a.reference in page and "mentioned you" in page
    client.post("/notifications/")
    assert Notification.objects.get().read_at is not None


# -- canned responses


def test_canned_responses_offered_on_a_ticket_are_global_its_queues_and_ones_own(
    agent, agent_b, agent_client, queue_a, queue_b, ticket_a
):
    QueueMailSettings.objects.create(queue=queue_a, signature="The {queue} team")
    services.ticket_set_requester(actor=agent, ticket=ticket_a, email="pat@example.com", name="Pat")
    CannedResponse.objects.create(
        name="Thanks", body="Hello {requester_name}, about {reference}: {agent}.\n{signature}"
    )
    CannedResponse.objects.create(name="Alpha only", body="a", queue=queue_a)
    CannedResponse.objects.create(name="Beta only", body="b", queue=queue_b)
    CannedResponse.objects.create(name="Bob's own", body="c", owner=agent_b)
    CannedResponse.objects.create(name="Mine", body="d", owner=agent)
    page = agent_client.get(url(ticket_a)).content.decode()
    assert "Alpha only" in page and "Mine" in page
    assert "Beta only" not in page and "Bob&#x27;s own" not in page and "Bob's own" not in page
    expected = f"Hello Pat, about {ticket_a.reference}: alice.\\nThe Alpha support team"
    assert expected in page


def test_an_agent_keeps_her_own_canned_responses(agent, agent_b, agent_client, queue_b):
    response = agent_client.post(
        "/canned/",
        {"name": "Pending", "body": "We wait for {requester_name}.", "set_status": "pending"},
    )
    assert response.status_code == 302
    mine = CannedResponse.objects.get()
    assert mine.owner == agent and mine.set_status == "pending"
    theirs = CannedResponse.objects.create(name="Bob's", body="x", owner=agent_b)
    assert agent_client.get(f"/canned/{theirs.pk}/").status_code == 404
    assert agent_client.post(f"/canned/{theirs.pk}/delete/").status_code == 404
    response = agent_client.post("/canned/", {"name": "Bad", "body": "Hi {password}"})
    assert response.status_code == 400
    assert "Unknown placeholder {password}" in response.content.decode()
    response = agent_client.post("/canned/", {"name": "Other", "body": "x", "queue": queue_b.pk})
    assert response.status_code == 400
    agent_client.post(f"/canned/{mine.pk}/delete/")
    assert list(CannedResponse.objects.all()) == [theirs]


def test_an_agent_cannot_change_a_shared_canned_response(agent):
    shared = CannedResponse.objects.create(name="Shared", body="x")
    shared.body = "changed"
    with pytest.raises(PermissionDenied):
        services.canned_response_save(actor=agent, response=shared)
    with pytest.raises(PermissionDenied):
        services.canned_response_delete(actor=agent, response=shared)
