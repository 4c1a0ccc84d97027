"""Saved views: per user, shared with a queue by managers, in the navigation with counts."""

from __future__ import annotations

import pytest

from tests.conftest import login, make_user
from tickets import services
from tickets.organising_models import SavedView

pytestmark = pytest.mark.django_db


def _message(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_an_agent_saves_a_view_and_finds_it_with_its_count_in_the_navigation(
    agent_client, agent, queue_a
):
    for i in range(3):
        services.ticket_create(actor=agent, queue=queue_a, subject=f"Printer {i}")
    services.ticket_create(actor=agent, queue=queue_a, subject="Other")
    response = agent_client.post(
        "/tickets/views/",
        {"name": "Printers", "query": "q=printer&sort=due&page=3"},
        follow=True,
    )
    view = SavedView.objects.get(owner=agent)
    assert view.query == "q=printer&sort=due"
    assert response.redirect_chain[-1][0] == f"/tickets/?q=printer&sort=due&view={view.pk}"
    assert len(response.context["page"].object_list) == 3
    html = response.content.decode()
    assert "<h1>Printers</h1>" in html
    assert f'data-saved-view-count="{view.pk}">3</span>' in html


def test_counts_cost_one_query_however_many_views(
    agent_client, agent, queue_a, django_assert_max_num_queries
):
    services.ticket_create(actor=agent, queue=queue_a, subject="x")
    services.saved_view_save(actor=agent, name="One", query="status=new")
    agent_client.get("/dashboard/")
    with django_assert_max_num_queries(15) as one:
        agent_client.get("/dashboard/")
    for i in range(10):
        services.saved_view_save(actor=agent, name=f"View {i}", query=f"q={i}&due=overdue")
    with django_assert_max_num_queries(len(one.captured_queries)):
        agent_client.get("/dashboard/")


def test_a_view_of_every_ticket_counts_every_ticket_beside_narrower_views(agent, queue_a):
    from tickets import selectors
    from tickets.models import Priority

    services.ticket_create(actor=agent, queue=queue_a, subject="Low", priority=Priority.LOW)
    services.ticket_create(actor=agent, queue=queue_a, subject="Urgent", priority=Priority.URGENT)
    every = services.saved_view_save(actor=agent, name="All", query="status=any")
    urgent = services.saved_view_save(actor=agent, name="Urgent", query="priority=4")
    counts = selectors.saved_view_counts(agent, [every, urgent])
    assert counts == {every.pk: 2, urgent.pk: 1}


def test_views_are_private_unless_a_manager_shares_one_with_a_queue(
    client, agent, agent_b, manager_client, manager, queue_a
):
    services.saved_view_save(actor=agent_b, name="Bob's", query="")
    response = manager_client.post(
        "/tickets/views/", {"name": "Team A", "query": "status=new", "queue": queue_a.pk}
    )
    assert response.status_code == 302
    html = login(client, agent).get("/dashboard/").content.decode()
    assert "Team A" in html and "Bob&#x27;s" not in html and "Bob's" not in html
    assert "Team A" not in login(client, agent_b).get("/dashboard/").content.decode()


def test_an_agent_cannot_share_a_view(agent_client, agent, queue_a):
    response = agent_client.post(
        "/tickets/views/", {"name": "Mine", "query": "", "queue": queue_a.pk}, follow=True
    )
    assert SavedView.objects.get(owner=agent).queue is None  # the field is not offered
    assert "saved" in _message(response)
    with pytest.raises(Exception, match="Only managers"):
        services.saved_view_save(actor=agent, name="X", query="", queue=queue_a)


def test_only_the_owner_deletes_a_view(client, agent, agent_client):
    view = services.saved_view_save(actor=agent, name="Mine", query="")
    other = login(client.__class__(), make_user("carl", "agent"))
    assert other.post(f"/tickets/views/{view.pk}/delete/").status_code == 404
    assert agent_client.post(f"/tickets/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_a_bad_view_name_gets_a_one_line_answer(agent_client):
    response = agent_client.post("/tickets/views/", {"name": "", "query": ""}, follow=True)
    assert "The view was not saved" in _message(response)
    assert not SavedView.objects.exists()
