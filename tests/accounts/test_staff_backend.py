"""The login backend loads a user's roles and queues with the user: one query, read again
on every request (a role or queue taken away counts at once)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.backends import StaffBackend


def test_roles_and_queues_arrive_with_the_user(agent, queue_a):
    user = StaffBackend().get_user(agent.pk)
    assert user == agent
    with CaptureQueriesContext(connection) as queries:
        from tickets.access import visible_queue_ids
        from ticketsystem.roles import user_roles

        assert (user_roles(user), visible_queue_ids(user)) == (frozenset({"agent"}), [queue_a.pk])
    assert len(queries) == 0


def test_a_page_spends_no_query_on_roles_or_queues(agent_client, ticket_a):
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get(ticket_a.get_absolute_url()).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.startswith('SELECT "auth_group"')]
    assert not [s for s in sql if s.startswith('SELECT "tickets_queue"."id" AS "id" FROM')]


def test_a_role_or_queue_taken_away_counts_on_the_next_request(
    agent_client, agent, queue_a, ticket_a
):
    queue_a.members.remove(agent)
    assert agent_client.get(ticket_a.get_absolute_url()).status_code == 404
    agent.groups.remove(Group.objects.get(name="agent"))
    assert agent_client.get("/dashboard/").status_code == 403


def test_an_inactive_or_unknown_user_is_nobody(agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert StaffBackend().get_user(agent.pk) is None
    assert StaffBackend().get_user(999_999) is None


def test_the_read_is_compiled_once_and_finds_each_user_by_their_own_id(agent, manager):
    from accounts import backends

    backends._statement = None
    first = StaffBackend().get_user(agent.pk)
    compiled = backends._statement
    second = StaffBackend().get_user(manager.pk)
    assert backends._statement is compiled  # not compiled again
    assert (first.pk, second.pk) == (agent.pk, manager.pk)
    assert first.username == agent.username and second.username == manager.username
    assert StaffBackend().get_user("not a number") is None


def test_an_annotation_registered_later_is_loaded_too(agent, monkeypatch):
    from django.db.models import Value

    from accounts import backends

    monkeypatch.setitem(backends.USER_ANNOTATIONS, "_test_extra", lambda: Value(42))
    assert StaffBackend().get_user(agent.pk)._test_extra == 42
