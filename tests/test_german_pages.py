"""Every staff page, rendered for a manager who chose German: no English UI word in its
text, titles or labels (the words German says differently; "Status", "Tickets", "Queue" are
the same). The browser walk (tests/browser/test_german_ui.py) adds what the scripts write."""

from __future__ import annotations

import re
from datetime import UTC
from html import unescape

import pytest

from tests.conftest import login
from tickets import services
from tickets.models import Status

pytestmark = pytest.mark.django_db

# Words of the English UI that German says differently ("Status", "Tickets", "Queue" and
# "Live" are the same in both): none may appear on a German page.
ENGLISH = [
    "Dashboard", "New ticket", "Log out", "Sign out", "Security", "Sessions", "Preferences",
    "Notifications", "Following", "Canned responses", "Reply", "Internal note", "Assignee",
    "Priority", "Requester", "Subject", "Description", "Conversation", "History", "Files",
    "Send", "Follow", "Unassigned", "Overdue", "Pending", "Resolved", "Urgent", "High",
    "Search", "Apply", "Reset", "Recent activity", "My open tickets", "Updated", "Due",
    "ago", "just now", "minutes", "hours", "days", "created", "replied", "changed",
    "assigned", "Attach", "Mark resolved", "Change priority", "Move", "Assign", "Select",
    "Page", "Skip to content", "Connecting", "Nothing", "Save", "Delete", "Edit", "Close",
    "Back", "Any", "Password", "Confirm", "Audit trail", "Monitoring", "Newest", "Recently",
    "Active", "Export", "Download", "Copy", "Verify", "Sort", "Message", "Checks",
]  # fmt: skip
ENGLISH_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ENGLISH) + r")\b")
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
ATTRS = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')
TAG = re.compile(r"<[^>]*>")


def shown_text(html: str) -> str:
    """The page's visible text and the attributes a reader or screen reader meets."""
    html = SCRIPT.sub(" ", html)
    return unescape(" ".join([*ATTRS.findall(html), TAG.sub(" ", html)]))


@pytest.fixture
def german_manager(client, manager, queue_a):
    queue_a.members.add(manager)
    login(client, manager)
    client.post("/accounts/preferences/", {"language": "de", "time_zone": "Europe/Berlin"})
    return client


def test_every_staff_page_is_german_for_a_german_manager(german_manager, manager, queue_a):
    ticket = services.ticket_create(
        actor=manager, queue=queue_a, subject="Drucker", assignee=manager
    )
    services.comment_add(actor=manager, ticket=ticket, body="Erledigt?", is_internal=True)
    services.ticket_change_status(actor=manager, ticket=ticket, status=Status.PENDING)
    pages = [
        "/dashboard/", "/tickets/", "/tickets/?status=any&sort=-due", ticket.get_absolute_url(),
        "/tickets/new/", "/tickets/following/", "/notifications/", "/canned/",
        "/accounts/preferences/", "/accounts/sessions/", "/accounts/2fa/",
        "/audit/", "/audit/history/", "/ops/monitoring/", "/tickets/T-999999/",
    ]  # fmt: skip
    for path in pages:
        response = german_manager.get(path)
        assert response.status_code in (200, 404), path
        words = sorted(set(ENGLISH_RE.findall(shown_text(response.content.decode()))))
        assert words == [], f"{path}: English words {words}"


def test_the_english_word_check_finds_english(client, agent):
    page = login(client, agent).get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert {"Dashboard", "New ticket"} <= set(ENGLISH_RE.findall(shown_text(page)))


def test_the_audit_trail_says_utc_times_whatever_the_readers_zone(german_manager, manager):
    from audit.events import record_event

    event = record_event("exported", actor=manager, resource="test")
    page = german_manager.get("/audit/").content.decode()
    assert "Zeit (UTC)" in page
    assert event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") in page
