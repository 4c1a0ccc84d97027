"""Every bad input gets a clear answer (form error, 400 or 404), never a 500, and nothing
is half-saved."""

from __future__ import annotations

import pytest

from tickets.models import Activity, Comment, Contact, Ticket

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


def _create(client, default_queue, **overrides):
    data = {
        "queue": default_queue.pk,
        "priority": "2",
        "subject": "Valid subject",
        "description": "",
    }
    data.update(overrides)
    return client.post("/tickets/new/", data)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subject": ""}, "subject", "This field is required."),
        ({"subject": "x" * 201}, "subject", "at most 200 characters"),
        ({"subject": "nul\x00byte"}, "subject", "Null characters are not allowed."),
        ({"subject": "bell\x07"}, "subject", "single line"),
        ({"subject": "two\nlines"}, "subject", "single line"),
        ({"description": "d" * 50_001}, "description", "at most 50000 characters"),
        ({"description": "nul\x00"}, "description", "Null characters are not allowed."),
        ({"description": "escape\x1b[31m"}, "description", "control characters"),
        ({"queue": ""}, "queue", "This field is required."),
        ({"queue": "abc"}, "queue", "Select a queue you are a member of."),
        ({"queue": "999999"}, "queue", "Select a queue you are a member of."),
        ({"queue": HUGE}, "queue", "Select a queue you are a member of."),
        ({"priority": "9"}, "priority", "Select a valid choice."),
        ({"priority": "urgent"}, "priority", "Select a valid choice."),
        ({"contact_email": "not-an-email"}, "contact_email", "Enter a valid email address."),
        ({"contact_name": "Ann", "contact_email": ""}, "contact_email", "requester's email"),
        ({"contact_phone": "1\x002"}, "contact_phone", "Null characters are not allowed."),
    ],
)
def test_ticket_create_rejects_bad_input_next_to_the_field(
    agent_client, queue_a, overrides, field, message
):
    response = _create(agent_client, queue_a, **overrides)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors.get(field, []))
    assert not Ticket.objects.exists()
    assert not Contact.objects.exists()


def test_ticket_create_refuses_a_foreign_queue(agent_client, queue_b):
    response = _create(agent_client, queue_b)
    assert response.status_code == 400
    assert "Select a queue you are a member of." in response.content.decode()
    assert not Ticket.objects.exists()


def test_html_in_every_text_field_is_shown_escaped(agent_client, queue_a):
    response = _create(
        agent_client,
        queue_a,
        subject=XSS[:200],
        description=XSS,
        contact_email="x@example.org",
        contact_name=XSS[:200],
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    agent_client.post(f"/tickets/{ticket.reference}/comment/", {"body": XSS})
    pages = [
        agent_client.get(ticket.get_absolute_url()),
        agent_client.get("/tickets/"),
        agent_client.get("/dashboard/"),
    ]
    for page in pages:
        html = page.content.decode()
        assert "<img src=x" not in html
        assert "<script>alert" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    "body",
    ["", "   ", "nul\x00", "b" * 50_001, "esc\x1b"],
    ids=["empty", "blank", "nul", "huge", "ctrl"],
)
def test_comment_rejects_bad_bodies(agent_client, ticket_a, body):
    response = agent_client.post(f"/tickets/{ticket_a.reference}/comment/", {"body": body})
    assert response.status_code == 400
    assert response.context["comment_form"].errors
    assert not Comment.objects.exists()
    assert Ticket.objects.get(pk=ticket_a.pk).first_response_at is None


@pytest.mark.parametrize(
    "ref", ["T-999999", "garbage", "T-" + "9" * 12, "T-12", "t-000001", "T-000001x", "%00"]
)
def test_unknown_or_malformed_references_are_404(agent_client, ticket_a, ref):
    assert agent_client.get(f"/tickets/{ref}/").status_code == 404
    assert agent_client.post(f"/tickets/{ref}/comment/", {"body": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("assign", {"assignee": "abc"}, "assignee"),
        ("assign", {"assignee": "999999"}, "assignee"),
        ("assign", {"assignee": HUGE}, "assignee"),
        ("priority", {"priority": "7"}, "priority"),
        ("priority", {}, "priority"),
        ("move", {"queue": "abc"}, "queue"),
        ("move", {"queue": HUGE}, "queue"),
        ("status", {"status": ""}, "status"),
    ],
)
def test_detail_actions_reject_bad_values_with_a_form_error(
    agent_client, ticket_a, action, data, field
):
    activities = Activity.objects.count()
    response = agent_client.post(f"/tickets/{ticket_a.reference}/{action}/", data)
    assert response.status_code == 400
    form_name = {
        "assign": "assign_form",
        "priority": "priority_form",
        "move": "move_form",
        "status": "status_form",
    }[action]
    assert field in response.context[form_name].errors
    assert Activity.objects.count() == activities


def test_moving_to_a_foreign_queue_is_a_form_error(agent_client, ticket_a, queue_b):
    response = agent_client.post(f"/tickets/{ticket_a.reference}/move/", {"queue": queue_b.pk})
    assert response.status_code == 400
    assert Ticket.objects.get(pk=ticket_a.pk).queue_id == ticket_a.queue_id


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page": "abc"}, 400),
        ({"page": "1.5"}, 400),
        ({"page": "0"}, 404),
        ({"page": "-1"}, 404),
        ({"page": "2"}, 404),
        ({"page": HUGE}, 404),
        ({"status": "deleted"}, 400),
        ({"queue": "abc"}, 400),
        ({"queue": HUGE}, 400),
        ({"priority": "abc"}, 400),
        ({"priority": "99"}, 400),
        ({"assignee": "evil"}, 400),
        ({"assignee": HUGE}, 400),
        ({"sort": "password"}, 400),
        ({"q": "nul\x00"}, 400),
        ({"q": "q" * 201}, 400),
        ({"q": HUGE}, 200),
        ({"q": "T-" + HUGE}, 200),
        ({"q": "%_\\'\""}, 200),
    ],
)
def test_list_parameters_are_validated(agent_client, ticket_a, params, status):
    assert agent_client.get("/tickets/", params).status_code == status


def test_get_only_pages_refuse_post_and_action_urls_refuse_get(agent_client, ticket_a):
    assert agent_client.post("/dashboard/").status_code == 405
    assert agent_client.get(f"/tickets/{ticket_a.reference}/comment/").status_code == 405
