"""The live dashboard in a real browser: two agents side by side in two browser contexts see
each other's changes without reloading, subjects render as text, the page reconnects and
resynchronises after a server restart, and a logout ends the live connection."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import make_user
from tests.live.conftest import live_session
from tests.live.daphne import Daphne, daphne
from tickets import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
LIVE_WITHIN = 2000  # ms: the bound for a change to show on the other agent's page


@pytest.fixture
def server(db: Any) -> Iterator[Daphne]:
    with daphne() as running:
        yield running


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop in this thread; Django's ORM would refuse to
    # run beside it, though nothing here runs concurrently (the servers never get this flag).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def page_for(browser: Browser, server: Daphne, session_key: str, dialogs: list[str]) -> Page:
    """A page in its own browser context (own cookies), logged in with that session."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": server.url}]
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def outside_the_browser_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run service code (which publishes with async_to_sync) in a thread of its own, away
    from the event loop Playwright keeps in the test's thread."""
    from django.db import connection

    def call() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def open_live(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads


def still_same_document(page: Page) -> bool:
    return page.evaluate("window.__sameDocument === true")


@pytest.fixture
def colleague(queue_a: Any) -> Any:
    user = make_user("carol", "agent")
    queue_a.members.add(user)
    return user


@pytest.fixture
def sessions(agent: Any, colleague: Any) -> dict[str, str]:
    """Verified login sessions, made before the browser starts: database work done inside
    Playwright's greenlet would open connections that the test teardown cannot see."""
    return {"alice": live_session(agent), "carol": live_session(colleague)}


def test_two_agents_see_each_others_changes_without_reloading(sessions, server, browser):
    dialogs: list[str] = []
    alice = page_for(browser, server, sessions["alice"], dialogs)
    carol_dashboard = page_for(browser, server, sessions["carol"], dialogs)
    carol_list = carol_dashboard.context.new_page()
    open_live(carol_dashboard, server.url + "/dashboard/")
    open_live(carol_list, server.url + "/tickets/?status=active")
    expect(carol_dashboard.locator('[data-count="status-new"]')).to_have_text("0")

    # Alice creates a ticket whose subject is an HTML injection attempt.
    alice.goto(server.url + "/tickets/new/")
    alice.select_option("#id_queue", label="Alpha support")
    alice.fill("#id_subject", XSS)
    alice.fill("#id_description", "Steps to reproduce")
    alice.click("button:has-text('Create ticket')")
    expect(alice.locator("h1")).to_contain_text(XSS)
    ref = alice.locator("h1 .ref").text_content()

    # Carol's dashboard and list follow within 2 s, the subject shown as text.
    expect(carol_dashboard.locator('[data-count="status-new"]')).to_have_text(
        "1", timeout=LIVE_WITHIN
    )
    expect(carol_dashboard.locator('[data-count="unassigned"]')).to_have_text(
        "1", timeout=LIVE_WITHIN
    )
    unassigned = carol_dashboard.locator('[data-panel="unassigned"] li')
    expect(unassigned).to_have_count(1, timeout=LIVE_WITHIN)
    expect(unassigned).to_contain_text(f"{ref} {XSS}")
    expect(carol_dashboard.locator("ol[data-feed] li").first).to_contain_text(
        f"alice created {ref} {XSS}"
    )
    row = carol_list.locator(f"tbody tr:has-text('{ref}')")
    expect(row).to_have_count(1, timeout=LIVE_WITHIN)
    expect(row.locator("td.subject")).to_have_text(XSS)
    expect(carol_list.locator("[data-list-count]")).to_have_text("1 ticket")
    assert carol_dashboard.locator("main img").count() == 0
    assert carol_list.locator("main img").count() == 0

    # Carol opens the ticket: Alice's page shows who else is looking.
    carol_ticket = carol_dashboard.context.new_page()
    open_live(carol_ticket, server.url + f"/tickets/{ref}/")
    alice.evaluate("window.__sameDocument = true")
    expect(alice.locator("[data-presence]")).to_contain_text(
        "Also viewing: carol", timeout=LIVE_WITHIN
    )
    expect(carol_ticket.locator("[data-presence]")).to_contain_text(
        "Also viewing: alice", timeout=LIVE_WITHIN
    )

    # Alice assigns it to Carol: Carol's counters, lists and ticket page follow.
    alice.select_option("#id_assignee", label="carol")
    alice.click("button:has-text('Assign')")
    expect(carol_dashboard.locator('[data-count="mine"]')).to_have_text("1", timeout=LIVE_WITHIN)
    expect(carol_dashboard.locator('[data-count="unassigned"]')).to_have_text(
        "0", timeout=LIVE_WITHIN
    )
    expect(carol_dashboard.locator('[data-panel="mine"] li')).to_contain_text(
        ref, timeout=LIVE_WITHIN
    )
    expect(carol_dashboard.locator('[data-panel="unassigned"] [data-empty]')).to_be_visible()
    expect(row.locator('td[data-col="assignee"]')).to_have_text("carol", timeout=LIVE_WITHIN)
    expect(carol_ticket.locator("[data-ticket-banner]")).to_contain_text(
        "alice assigned (carol) just now.", timeout=LIVE_WITHIN
    )

    # Alice moves it along: status counters follow.
    alice.click("button:has-text('Mark pending')")
    expect(carol_dashboard.locator('[data-count="status-pending"]')).to_have_text(
        "1", timeout=LIVE_WITHIN
    )
    expect(carol_dashboard.locator('[data-count="status-new"]')).to_have_text(
        "0", timeout=LIVE_WITHIN
    )
    expect(row.locator('td[data-col="status"]')).to_have_text("Pending", timeout=LIVE_WITHIN)
    expect(carol_ticket.locator("[data-ticket-banner]")).to_contain_text(
        "alice changed status (New → Pending) just now.", timeout=LIVE_WITHIN
    )

    ARTIFACTS.mkdir(exist_ok=True)
    carol_dashboard.screenshot(path=str(ARTIFACTS / "live-dashboard.png"), full_page=True)
    carol_list.screenshot(path=str(ARTIFACTS / "live-ticket-list.png"), full_page=True)
    carol_ticket.screenshot(path=str(ARTIFACTS / "live-ticket-detail.png"), full_page=True)
    for page in (carol_dashboard, carol_list, carol_ticket):
        assert still_same_document(page)
    assert dialogs == []


def test_a_page_reconnects_after_a_restart_and_catches_up(
    agent, queue_a, sessions, server, browser
):
    carol = page_for(browser, server, sessions["carol"], [])
    open_live(carol, server.url + "/dashboard/")
    server.stop()
    expect(carol.locator("[data-live-status]")).to_have_attribute("data-state", "reconnecting")

    # A change while the page is offline: its event reaches nobody.
    outside_the_browser_loop(
        services.ticket_create, actor=agent, queue=queue_a, subject="Happened while offline"
    )

    server.start()
    expect(carol.locator("[data-live-status]")).to_have_attribute(
        "data-state", "live", timeout=15000
    )
    expect(carol.locator('[data-count="status-new"]')).to_have_text("1", timeout=LIVE_WITHIN)
    expect(carol.locator('[data-panel="unassigned"] li')).to_contain_text("Happened while offline")
    assert still_same_document(carol)


def test_logging_out_in_another_tab_ends_the_live_connection(sessions, server, browser):
    carol = page_for(browser, server, sessions["carol"], [])
    open_live(carol, server.url + "/dashboard/")
    other_tab = carol.context.new_page()
    other_tab.goto(server.url + "/tickets/")
    other_tab.click("button:has-text('Log out')")
    status = carol.locator("[data-live-status]")
    expect(status).to_have_attribute("data-state", "ended", timeout=LIVE_WITHIN)
    expect(status).to_contain_text("Your session has ended. Log in again")
