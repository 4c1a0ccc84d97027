"""/audit/history.csv: the filtered model history as formula-safe CSV, audited."""

from __future__ import annotations

import csv
import io

from audit.models import SecurityEvent
from tickets import services
from tickets.models import Queue


def test_the_export_masks_secrets_and_quotes_formulas(manager_client, manager, agent, ticket_a):
    services.ticket_change_subject(actor=agent, ticket=ticket_a, subject="=1+1 printer")
    services.ticket_change_description(actor=agent, ticket=ticket_a, description="do not leak")
    response = manager_client.get("/audit/history.csv", {"model": "tickets.ticket"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *body = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["time (UTC)", "user", "action"]
    assert len(body) == 2
    changes = [row[6] for row in body]
    assert "subject: Printer on fire → =1+1 printer" in changes
    event = SecurityEvent.objects.get(action="exported")
    assert (event.actor, event.resource, event.details["rows"]) == (manager, "model_history", 2)
    # The description's history (its own table, TicketBody): masked.
    response = manager_client.get("/audit/history.csv", {"model": "tickets.ticketbody"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    _header, *body = list(csv.reader(io.StringIO(text)))
    assert "description: changed" in [row[6] for row in body]
    assert "do not leak" not in text


def test_a_cell_starting_with_a_formula_character_is_quoted(manager_client, db):
    # A queue's name is its history label: the "record" column starts with "=".
    Queue.objects.create(name='=HYPERLINK("http://evil")', slug="evil")
    response = manager_client.get("/audit/history.csv", {"model": "tickets.queue"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    [_header, row] = list(csv.reader(io.StringIO(text)))
    assert row[5] == '\'=HYPERLINK("http://evil")'


def test_agents_cannot_export_history(agent_client):
    assert agent_client.get("/audit/history.csv").status_code == 403
