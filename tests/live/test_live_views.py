"""The JSON a live page fetches after (re)connecting: same access rules and rows as the HTML
pages, display fields only."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from tests.conftest import login, make_user
from tickets import services
from tickets.models import Ticket


def test_the_dashboard_resync_has_counts_lists_and_activity(
    agent_client, agent, ticket_a, ticket_b
):
    services.ticket_assign(actor=agent, ticket=ticket_a, assignee=agent)
    response = agent_client.get("/live/dashboard.json")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert data["counts"]["new"] == 1  # ticket_b's queue is not hers
    assert data["totals"] == {"mine": 1, "unassigned": 0, "overdue": 0, "due_soon": 0}
    [mine] = data["lists"]["mine"]
    assert (mine["ref"], mine["subject"], mine["assignee"]) == (
        ticket_a.reference,
        "Printer on fire",
        "alice",
    )
    assert [a["verb"] for a in data["activity"]] == ["assigned", "created"]
    assert data["activity"][0]["ticket"]["ref"] == ticket_a.reference
    assert "Invoice wrong" not in response.content.decode()
    assert "toner" not in response.content.decode()  # descriptions are never sent


def test_the_dashboard_resync_says_when_a_deadline_next_passes(agent_client, agent, ticket_a):
    due = timezone.now() + timedelta(hours=3)
    Ticket.objects.filter(pk=ticket_a.pk).update(due_at=due)
    data = agent_client.get("/live/dashboard.json").json()
    assert data["next_boundary"] == (due - timedelta(hours=1)).isoformat()


def test_the_list_resync_applies_the_lists_filters(agent_client, agent, queue_a, ticket_a):
    services.ticket_create(actor=agent, queue=queue_a, subject="Second printer")
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="pending")
    data = agent_client.get("/live/tickets.json", {"status": "pending", "q": "printer"}).json()
    assert data["count"] == 1
    assert [row["ref"] for row in data["rows"]] == [ticket_a.reference]
    assert data["page"] == 1


def test_the_list_resync_costs_the_same_for_one_row_or_many(
    agent_client, agent, queue_a, django_assert_max_num_queries
):
    for n in range(12):
        ticket = services.ticket_create(actor=agent, queue=queue_a, subject=f"Row {n}")
        if n % 2:
            services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
    with django_assert_max_num_queries(11):
        data = agent_client.get("/live/tickets.json").json()
    assert len(data["rows"]) == 12
    assert {row["assignee"] for row in data["rows"]} == {"", "alice"}


def test_the_list_resync_answers_bad_filters_with_400_and_missing_pages_with_404(
    agent_client, ticket_a
):
    assert agent_client.get("/live/tickets.json", {"status": "bogus"}).status_code == 400
    assert agent_client.get("/live/tickets.json", {"page": "x"}).status_code == 400
    assert agent_client.get("/live/tickets.json", {"page": "9"}).status_code == 404


def test_a_ticket_resync_shows_the_ticket_to_those_who_may_see_it(client, agent, agent_b, ticket_a):
    login(client, agent)
    data = client.get(f"/live/tickets/{ticket_a.reference}.json").json()
    assert data["ticket"]["id"] == ticket_a.pk
    assert set(data["ticket"]) >= {"updated_at", "status", "assignee"}
    login(client, agent_b)
    assert client.get(f"/live/tickets/{ticket_a.reference}.json").status_code == 404
    assert client.get("/live/tickets/T-999999.json").status_code == 404


def test_a_resync_is_not_activity_and_keeps_no_idle_session_alive(client, agent, ticket_a):
    from accounts import session_policy

    login(client, agent)
    session = client.session
    long_ago = int(time.time()) - 20 * 60
    session[session_policy.LAST_SEEN] = long_ago
    session.save()
    assert client.get("/live/dashboard.json").status_code == 200
    assert client.session[session_policy.LAST_SEEN] == long_ago
    assert client.get("/dashboard/").status_code == 200  # a page the user opened is activity
    assert client.session[session_policy.LAST_SEEN] > long_ago


@pytest.mark.parametrize(
    "url", ["/live/dashboard.json", "/live/tickets.json", "/live/tickets/T-000001.json"]
)
def test_the_resync_endpoints_require_a_staff_login(client, db, url):
    assert client.get(url).status_code == 302  # to the login page
    login(client, make_user("olga"))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code in (403, 405)


@override_settings(THROTTLE_RATES={"post": 3, "search": 2})
def test_a_searched_list_resync_counts_toward_the_search_limit(agent_client, ticket_a):
    # Otherwise /live/tickets.json?q= is the list's search without its throttle.
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):
        statuses = [agent_client.get("/live/tickets.json?q=printer").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = agent_client.get("/live/tickets.json?q=printer")
        assert response["Content-Type"] == "application/json"
        assert response["Retry-After"] == "60"
        assert agent_client.get("/tickets/?q=printer").status_code == 429
        assert agent_client.get("/live/tickets.json").status_code == 200
