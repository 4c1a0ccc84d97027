"""/audit/: managers browse and filter security events; nobody else gets in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.events import record_event
from audit.models import SecurityEvent
from tests.conftest import login


@pytest.fixture
def some_events(db):
    record_event("login_failed", username="mallory", ip="192.0.2.66")
    record_event("login_failed", username="mallory", ip="192.0.2.67")
    record_event("locked_out", username="mallory", ip="192.0.2.66")
    record_event("logout", username="alice", ip="198.51.100.1")


def test_managers_see_the_newest_events_first(manager_client, some_events):
    response = manager_client.get("/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("logout") < page.index("locked_out") < page.index("192.0.2.67")
    assert f"{SecurityEvent.objects.count()} events" in page


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ({"actor": " MALLORY "}, 3),
        ({"action": "login_failed"}, 2),
        ({"ip": "192.0.2.66"}, 2),
        ({"actor": "mallory", "action": "locked_out", "ip": "192.0.2.66"}, 1),
        (
            {
                "date_from": timezone.localdate().isoformat(),
                "date_to": timezone.localdate().isoformat(),
            },
            None,
        ),
        ({"date_to": (timezone.localdate() - timedelta(days=1)).isoformat()}, 0),
    ],
)
def test_filters_narrow_the_list(manager_client, some_events, query, count):
    response = manager_client.get("/audit/", query)
    assert response.status_code == 200
    expected = SecurityEvent.objects.count() if count is None else count  # None: all of today's
    assert response.context["page"].paginator.count == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"ip": "not-an-ip"}, "Enter a valid IPv4 or IPv6 address."),
        ({"action": "DROP TABLE"}, "Actions are lower-case words"),
        (
            {"date_from": "2026-02-02", "date_to": "2026-01-01"},
            "The end date is before the start date.",
        ),
        ({"date_from": "yesterday"}, "Enter a valid date."),
        ({"page": "two"}, "The page number must be a whole number."),
        ({"page": ""}, "The page number must be a whole number."),
        ({"actor": "mal\x00lory"}, "Null characters are not allowed."),
        ({"date_to": "2026-02-30"}, "Enter a valid date."),
        ({"ip": "192.0.2.1\x00"}, "Enter a valid IPv4 or IPv6 address."),
    ],
)
def test_bad_filters_get_a_400_with_a_clear_error(manager_client, some_events, query, message):
    response = manager_client.get("/audit/", query)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01", "date_to": "9999-12-31"}],
    ids=["last-day", "whole-calendar"],
)
def test_the_ends_of_the_calendar_are_open_ranges(manager_client, some_events, query):
    # The day after 9999-12-31 does not exist: the end date used to overflow into a 500.
    response = manager_client.get("/audit/", query)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == SecurityEvent.objects.count()


@pytest.mark.parametrize("page", ["9", "0", "-1", "1" * 40])
def test_a_page_outside_the_list_is_404(manager_client, some_events, page):
    assert manager_client.get("/audit/", {"page": page}).status_code == 404


def test_agents_are_refused_and_the_attempt_is_recorded(agent_client, agent):
    response = agent_client.get("/audit/")
    assert response.status_code == 403
    event = SecurityEvent.objects.get(action="access_denied")
    assert (event.actor, event.resource) == (agent, "/audit/")


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_is_read_only(manager_client, some_events):
    assert manager_client.post("/audit/").status_code == 405


def test_hostile_values_are_escaped_on_the_page(manager_client, db):
    record_event("login_failed", username="<script>alert(1)</script>")
    page = manager_client.get("/audit/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_nav_links_managers_to_the_audit_trail(client, manager, agent):
    assert 'href="/audit/"' in login(client, manager).get("/dashboard/").content.decode()
    client.logout()
    assert 'href="/audit/"' not in login(client, agent).get("/dashboard/").content.decode()


def test_filters_matching_nothing_say_so(manager_client, some_events):
    # A page with no rows is falsy: the results used to vanish without a word.
    response = manager_client.get("/audit/", {"actor": "nobody"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "0 events" in page and "No events match these filters." in page
    assert "Export CSV" not in page


def test_the_export_link_keeps_the_filters(manager_client, some_events):
    page = manager_client.get("/audit/", {"actor": "mallory", "page": "1"}).content.decode()
    assert 'href="/audit/events.csv?actor=mallory"' in page
