"""/audit/events.csv: the filtered events as CSV that no spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from audit.csvsafe import safe_cell
from audit.events import record_event
from audit.models import SecurityEvent


def rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\uff1dcmd", "'\uff1dcmd"),
        ("alice", "alice"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_would_start_a_formula_are_quoted(value, expected):
    assert safe_cell(value) == expected


def test_the_export_holds_the_filtered_events_safely(manager_client, manager, db):
    record_event("login_failed", username='=cmd|" /C calc"!A0', ip="192.0.2.1", resource="+SUM(1)")
    record_event("logout", username="alice")
    response = manager_client.get("/audit/events.csv", {"action": "login_failed"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="security-events-')
    header, *body = rows(response)
    assert header[:4] == ["seq", "time (UTC)", "action", "user"]
    assert len(body) == 1
    assert body[0][3] == '\'=cmd|" /C calc"!A0'
    assert body[0][5] == "'+SUM(1)"
    assert body[0][4] == "192.0.2.1"


def test_exporting_is_itself_audited(manager_client, manager, db):
    record_event("logout", username="alice")
    manager_client.get("/audit/events.csv", {"actor": "alice"})
    event = SecurityEvent.objects.get(action="exported")
    assert event.actor == manager and event.resource == "security_events"
    assert event.details == {"filters": {"actor": "alice"}, "rows": 1}


def test_agents_cannot_export(agent_client):
    assert agent_client.get("/audit/events.csv").status_code == 403
    assert not SecurityEvent.objects.filter(action="exported").exists()


def test_bad_filters_export_nothing(manager_client, db):
    assert manager_client.get("/audit/events.csv", {"ip": "x"}).status_code == 400
    assert not SecurityEvent.objects.filter(action="exported").exists()


def test_the_last_day_of_the_calendar_exports_everything_up_to_now(manager_client, manager, db):
    record_event("logout", actor=manager)
    response = manager_client.get("/audit/events.csv", {"date_to": "9999-12-31"})
    assert response.status_code == 200
    actions = [row[2] for row in rows(response)[1:]]
    assert "logout" in actions and len(actions) == SecurityEvent.objects.count()
