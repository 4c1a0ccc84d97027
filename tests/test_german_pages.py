"""Every staff page, rendered for a manager who chose German: no English UI word in its
text, titles or labels (the words German says differently; "Status", "Tickets", "Queue" are
the same). The browser walk (tests/browser/test_german_ui.py) adds what the scripts write."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.browser.test_german_ui import ENGLISH_RE
from tests.conftest import login
from tickets import services
from tickets.models import Status

pytestmark = pytest.mark.django_db

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
