"""The ticket page: Activity for everyone, the field-level change log for managers."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import login
from tickets import services


def test_managers_see_who_changed_what_and_when(client, manager, agent, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    services.ticket_change_description(actor=agent, ticket=ticket_a, description="New secret text")
    services.ticket_assign(actor=agent, ticket=ticket_a, assignee=agent)
    login(client, manager)
    detail = client.get(ticket_a.get_absolute_url()).content.decode()
    changes_url = f"/tickets/{ticket_a.reference}/changes/"
    assert "Change log" in detail and f'href="{changes_url}"' in detail  # fetched on demand
    for url in (changes_url, f"{changes_url}?fragment=1"):
        page = client.get(url).content.decode()
        assert '<span class="old">New</span> → <span class="new">Open</span>' in page
        assert "<em>changed</em>" in page  # the description, without its value
        assert "New secret text" not in page
        assert '<span class="new">alice</span>' in page  # assignee id shown as a name
    assert "<html" in client.get(changes_url).content.decode()  # the page, for a plain link
    assert "<html" not in page  # the fragment: the list alone


def test_the_ticket_page_does_not_read_the_change_log(client, manager, agent, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    login(client, manager)
    with CaptureQueriesContext(connection) as queries:
        client.get(ticket_a.get_absolute_url())
    assert not [q for q in queries.captured_queries if "auditlog_logentry" in q["sql"]]


def test_agents_may_not_read_the_change_log(agent_client, ticket_a):
    assert agent_client.get(f"/tickets/{ticket_a.reference}/changes/").status_code == 403


def test_the_change_log_of_an_unknown_ticket_is_a_404(manager_client):
    assert manager_client.get("/tickets/T-999999/changes/").status_code == 404
    assert manager_client.get("/tickets/nonsense/changes/?fragment=1").status_code == 404


def test_agents_see_activity_but_not_the_change_log(agent_client, agent, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    page = agent_client.get(ticket_a.get_absolute_url()).content.decode()
    assert "History" in page and "changed status" in page
    assert "Change log" not in page
