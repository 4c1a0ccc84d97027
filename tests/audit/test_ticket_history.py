"""The ticket page: Activity for everyone, the field-level change log for managers."""

from __future__ import annotations

from tests.conftest import login
from tickets import services


def test_managers_see_who_changed_what_and_when(client, manager, agent, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    services.ticket_change_description(actor=agent, ticket=ticket_a, description="New secret text")
    services.ticket_assign(actor=agent, ticket=ticket_a, assignee=agent)
    page = login(client, manager).get(ticket_a.get_absolute_url()).content.decode()
    assert "Change log" in page
    assert '<span class="old">New</span> → <span class="new">Open</span>' in page
    assert "<em>changed</em>" in page  # the description, without its value
    assert "New secret text" not in page.split("Change log", 1)[1]
    assert '<span class="new">alice</span>' in page  # assignee id shown as a name


def test_agents_see_activity_but_not_the_change_log(agent_client, agent, ticket_a):
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    page = agent_client.get(ticket_a.get_absolute_url()).content.decode()
    assert "History" in page and "changed status" in page
    assert "Change log" not in page
