"""An agent whose preferences say German and Europe/Berlin logs in (password, then the
authenticator code) and works in German: the dashboard, the ticket list and a ticket page
show no English UI words, dates are German and in Berlin time, and what the page scripts
write (a live history line) is German too."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

import pytest
from django.utils import formats, translation
from django.utils.timezone import localtime
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.models import TOTPDevice, UserPreference
from tests.browser.conftest import in_browser, new_context
from tests.browser.test_live_dashboard import _watch, check, live_state
from tests.conftest import make_user
from tests.test_german_pages import ENGLISH_RE
from tickets import services
from tickets.models import Priority, Status

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "amber-lighthouse-river-58"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def english_words(page: Any) -> list[str]:
    """English UI words in the page's visible text, its titles and its labels."""
    text = page.inner_text("body")
    attrs = page.evaluate(
        """() => Array.from(document.querySelectorAll('[title], [aria-label], [placeholder]'))
             .map(e => [e.title, e.getAttribute('aria-label'), e.placeholder].join(' '))
             .join(' ')"""
    )
    return sorted(set(ENGLISH_RE.findall(text + " " + attrs)))


def german(moment: Any, fmt: str = "DATETIME_FORMAT") -> str:
    """How a German page in Berlin writes a moment (DATETIME_FORMAT: "6. Dezember 2026 14:05")."""
    with translation.override("de"):
        return formats.date_format(localtime(moment, BERLIN), fmt)


def test_an_agent_with_german_preferences_sees_german_pages_with_berlin_times(
    browser: Any, live_url: str, queue_a: Any
) -> None:
    agent = make_user("alice", "agent", first_name="Alice", last_name="Arndt")
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    queue_a.members.add(agent)
    UserPreference.objects.create(user=agent, language="de", time_zone="Europe/Berlin")
    device = TOTPDevice.objects.create(
        user=agent, name="Authenticator app", confirmed=True, key=TOTPDevice.new_key()
    )
    rita = services.contact_get_or_create(actor=agent, email="rita@example.com", name="Rita")
    ticket = services.ticket_create(
        actor=agent, queue=queue_a, subject="Drucker im 2. Stock", contact=rita,
        priority=Priority.HIGH, assignee=agent,
    )  # fmt: skip
    services.comment_add(actor=agent, ticket=ticket, body="Wir sehen uns das an.")
    services.comment_add(actor=agent, ticket=ticket, body="Toner bestellt.", is_internal=True)
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.PENDING)
    ticket.refresh_from_db()

    problems: list[str] = []

    def open_page(chromium: Any) -> Any:
        context = new_context(chromium, live_url, viewport={"width": 1280, "height": 900})
        return _watch(context.new_page(), problems)

    page = in_browser(open_page, browser)
    page.goto("/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/verify/")
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")

    # The dashboard, live: a change made elsewhere arrives as a German history line.
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("html").get_attribute("data-time-zone") == "Europe/Berlin"
    live_state(page, "live")
    assert page.locator("h1").first.inner_text() == "Übersicht"
    assert english_words(page) == []
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.OPEN)
    line = page.locator("[data-feed] li").first
    # Wait for this change's line: the setup's own change (Offen → Wartend) is "gerade eben" too.
    check(
        page,
        lambda p: expect(p.locator("[data-feed] li").first).to_contain_text("Wartend → Offen"),
    )
    assert "gerade eben" in line.inner_text()
    assert "hat den Status geändert" in line.inner_text()
    assert english_words(page) == []

    # The ticket list, its filters, sort headers and relative times.
    page.goto("/tickets/")
    live_state(page, "live")
    assert page.locator("h1").first.inner_text() == "Tickets"
    row = page.locator(f"tr[data-ticket-id='{ticket.pk}']")
    assert "Hoch" in row.inner_text() and "Offen" in row.inner_text()
    assert re.search(r"fällig in \d+\xa0(Tag|Tagen|Stunden?)", row.inner_text())
    assert english_words(page) == []

    # The ticket page: labels, badges, history, and absolute times in German, Berlin time.
    page.goto(ticket.get_absolute_url())
    live_state(page, "live")
    text = page.inner_text("body")
    assert "Interne Notiz" in text and "Antwort" in text and "Bearbeiter" in text
    assert "Priorität" in text and "Anfragender" in text and "Historie" in text
    ticket.refresh_from_db()
    due = german(ticket.due_at)
    assert due in text, f"{due!r} not on the page"
    assert re.search(r"\d{1,2}\. [A-ZÄÖÜ][a-zäöü]+ \d{4} \d{2}:\d{2}", due)
    assert localtime(ticket.due_at, BERLIN).strftime("%H:%M") in due  # Berlin, not UTC
    assert re.search(r"\b(MEZ|MESZ|CET|CEST)\b", text)
    assert "vor " in text or "gerade eben" in text
    assert english_words(page) == []
    assert problems == []
    page.context.close()
