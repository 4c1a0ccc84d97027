"""The staff pages' happy paths: create, read, comment, assign, change, resolve."""

from __future__ import annotations

import pytest

from tickets.models import Activity, Comment, Ticket

pytestmark = pytest.mark.django_db


def test_an_agent_creates_a_ticket_with_a_requester(agent_client, queue_a):
    response = agent_client.post(
        "/tickets/new/",
        {
            "queue": queue_a.pk,
            "priority": "3",
            "subject": "Laptop stolen",
            "description": "Left on the train.",
            "contact_email": "pat@example.com",
            "contact_name": "Pat Doe",
            "contact_phone": "+49 30 1234567",
        },
        follow=True,
    )
    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == ticket.get_absolute_url()
    assert f"Ticket {ticket.reference} created." in response.content.decode()
    assert ticket.contact.email == "pat@example.com"
    assert ticket.contact.name == "Pat Doe"
    assert ticket.description == "Left on the train."
    assert ticket.created_by.username == "alice"


def test_a_requester_email_known_only_in_another_queue_reveals_nothing_of_them(
    agent_client, agent_b, queue_a, queue_b
):
    from tickets import services

    theirs = services.contact_get_or_create(
        actor=agent_b, email="pat@example.com", name="Pat Secret", phone="+49 30 999"
    )
    services.ticket_create(actor=agent_b, queue=queue_b, subject="Refund", contact=theirs)
    response = agent_client.post(
        "/tickets/new/",
        {
            "queue": queue_a.pk,
            "priority": "2",
            "subject": "Question",
            "contact_email": "pat@example.com",
            "contact_name": "Pat",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Pat Secret" not in page and "+49 30 999" not in page
    ticket = Ticket.objects.get(queue=queue_a)
    assert ticket.contact_id != theirs.pk
    assert ticket.contact.name == "Pat"


def test_the_create_form_offers_only_the_agents_queues(agent_client, queue_a, queue_b):
    queues = list(agent_client.get("/tickets/new/").context["form"].fields["queue"].queryset)
    assert queues == [queue_a]


def test_a_ticket_is_worked_from_new_to_resolved_on_its_page(agent_client, agent, ticket_a):
    url = ticket_a.get_absolute_url()
    agent_client.post(f"{url}assign/", {"assignee": agent.pk})
    agent_client.post(f"{url}comment/", {"body": "Checking the toner.", "is_internal": "on"})
    agent_client.post(f"{url}comment/", {"body": "Fixed: new toner installed."})
    agent_client.post(f"{url}priority/", {"priority": "3"})
    response = agent_client.post(f"{url}status/", {"status": "resolved"}, follow=True)
    assert "Status updated." in response.content.decode()
    ticket = Ticket.objects.get(pk=ticket_a.pk)
    assert (ticket.status, ticket.assignee, ticket.priority) == ("resolved", agent, 3)
    assert ticket.first_response_at is not None
    bodies = [(c.body, c.is_internal) for c in Comment.objects.order_by("id")]
    assert bodies == [("Checking the toner.", True), ("Fixed: new toner installed.", False)]
    page = agent_client.get(url).content.decode()
    assert "Internal note" in page and "Fixed: new toner installed." in page
    assert "Reopen" in page
    verbs = list(
        Activity.objects.filter(ticket=ticket).order_by("id").values_list("verb", flat=True)
    )
    assert verbs == ["created", "assigned", "noted", "status", "commented", "priority", "status"]


def test_comments_are_append_only(agent_client, ticket_a):
    url = ticket_a.get_absolute_url()
    agent_client.post(f"{url}comment/", {"body": "first"})
    comment = Comment.objects.get()
    for method in ("put", "patch", "delete"):
        assert getattr(agent_client, method)(f"{url}comment/").status_code == 405
    assert Comment.objects.get().body == "first"
    assert comment.pk == Comment.objects.get().pk


@pytest.mark.parametrize(
    ("is_internal", "message"),
    [("on", "Internal note added."), ("false", "Reply added."), (None, "Reply added.")],
)
def test_the_confirmation_names_what_was_added(agent_client, ticket_a, is_internal, message):
    data = {"body": "hello"} | ({"is_internal": is_internal} if is_internal else {})
    response = agent_client.post(f"{ticket_a.get_absolute_url()}comment/", data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [message]
    assert Comment.objects.get().is_internal == (message == "Internal note added.")


def test_the_detail_page_uses_a_constant_number_of_queries(
    agent_client, agent, ticket_a, django_assert_max_num_queries
):
    url = ticket_a.get_absolute_url()
    agent_client.post(f"{url}comment/", {"body": "one"})
    # (9: session, user, the ticket with whether you follow it and whether it has files,
    # mail or canned responses for you, its CC list, the choices of its assign and move
    # forms, your saved views, comments, history; each read that would find nothing is
    # skipped)
    with django_assert_max_num_queries(9) as first:
        agent_client.get(url)
    baseline = len(first.captured_queries)  # read now: each request resets the query log
    for i in range(10):
        agent_client.post(f"{url}comment/", {"body": f"more {i}"})
    with django_assert_max_num_queries(baseline):
        agent_client.get(url)


def test_a_closed_tickets_page_reads_no_form_choices_or_canned_responses(
    agent_client, agent, ticket_a, django_assert_max_num_queries
):
    from tickets import services

    services.ticket_change_status(actor=agent, ticket=ticket_a, status="resolved")
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="closed")
    with django_assert_max_num_queries(7):  # 9 on an open ticket's page
        page = agent_client.get(ticket_a.get_absolute_url()).content.decode()
    assert "This ticket is closed." in page and 'name="assignee"' not in page


def test_the_page_reads_files_mail_and_canned_responses_only_where_there_are_some(
    agent_client, agent, ticket_a, django_assert_max_num_queries
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tickets import services
    from tickets.agent_models import CannedResponse, TicketWatch
    from tickets.models import Attachment

    url = ticket_a.get_absolute_url()
    with django_assert_max_num_queries(9) as bare:
        agent_client.get(url)
    baseline = len(bare.captured_queries)
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    services.attachment_add(actor=agent, ticket=ticket_a, upload=upload)
    CannedResponse.objects.create(name="Thanks", body="Thank you, {requester_name}.")
    TicketWatch.objects.create(user=agent, ticket=ticket_a)
    # + the files, the canned responses and the queue's signature they may use
    with django_assert_max_num_queries(baseline + 3) as full:
        page = agent_client.get(url).content.decode()
    assert len(full.captured_queries) == baseline + 3
    assert "a.txt" in page and "Thanks" in page and Attachment.objects.count() == 1
    assert agent_client.get(url).context["following"] is True


def test_a_refused_ticket_leaves_no_orphan_requester(agent_client, queue_a, monkeypatch):
    from django.core.exceptions import ValidationError

    from tickets.models import Contact
    from tickets.services import tickets as ticket_services

    def refuse(**kwargs):
        raise ValidationError({"queue": "Select a queue you are a member of."})

    # e.g. membership revoked meanwhile
    monkeypatch.setattr(ticket_services, "open_ticket", refuse)
    response = agent_client.post(
        "/tickets/new/",
        {"queue": queue_a.pk, "priority": "2", "subject": "x", "contact_email": "new@example.org"},
    )
    assert response.status_code == 400
    assert "Select a queue you are a member of." in response.content.decode()
    assert not Contact.objects.exists()


# The session, the user (with roles, queues and confirmed second factors:
# accounts/backends.py, accounts/second_factor.py); the queue, the requester; BEGIN, the
# ticket, the description, the history line, the audit entries of the new rows (one INSERT:
# audit/entries.py), COMMIT.
CREATE_QUERIES = 10


@pytest.mark.parametrize("known_requester", [True, False])
def test_creating_a_ticket_takes_a_fixed_number_of_queries(
    agent_client,
    queue_a,
    known_requester,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    """The whole POST, with what runs on commit: (BEGIN,) the ticket, its description, one
    history line and their audit entries, no savepoint, no read-back. A new requester adds
    their row (their audit entry joins the others)."""
    from tickets import services
    from tickets.models import Contact

    if known_requester:
        services.contact_get_or_create(actor=queue_a.members.get(), email="pat@example.com")
    data = {"queue": queue_a.pk, "priority": "2", "subject": "Printer", "description": "Jam"}
    with (
        django_capture_on_commit_callbacks(execute=True),
        django_assert_max_num_queries(CREATE_QUERIES + (0 if known_requester else 1)),
    ):
        response = agent_client.post("/tickets/new/", {**data, "contact_email": "pat@example.com"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.description, ticket.contact, Contact.objects.count()) == (
        "Jam",
        Contact.objects.get(),
        1,
    )
    assert list(ticket.activities.values_list("verb", flat=True)) == ["created"]
