"""The live dashboard in a real browser: two agents side by side in two browser contexts see
each other's changes without reloading, subjects render as text, nothing breaks the CSP, the
page reconnects and resynchronises after a server restart, and a logout ends the live
connection. Uses the shared browser fixtures (tests/browser/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Remote, in_browser, new_context
from tests.conftest import make_user
from tests.live.conftest import live_session
from tickets import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
LIVE_WITHIN = 2000  # ms: the bound for a change to show on the other agent's page


def _watch(page: Page, problems: list[str]) -> Page:
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    return page


def open_as(browser: Remote, base_url: str, session_key: str) -> Remote:
    """A page in a browser context of its own, logged in with this session. ``page.problems``
    collects CSP violations, console errors and dialogs (an executed alert() included)."""
    problems: list[str] = []

    def open_page(chromium: Any) -> Page:
        context = new_context(
            chromium, base_url, session_key=session_key, viewport={"width": 1280, "height": 900}
        )
        return _watch(context.new_page(), problems)

    page = in_browser(open_page, browser)
    object.__setattr__(page, "problems", problems)
    return page


def another_tab(page: Remote) -> Remote:
    problems = page.problems
    tab = in_browser(lambda p: _watch(p.context.new_page(), problems), page)
    object.__setattr__(tab, "problems", problems)
    return tab


def check(page: Remote, assertion: Callable[[Page], Any]) -> None:
    """Run a Playwright assertion (``expect``) against the page, in the browser's thread."""
    in_browser(assertion, page)


def text_of(page: Remote, selector: str, text: str, timeout: int = LIVE_WITHIN) -> None:
    check(page, lambda p: expect(p.locator(selector)).to_have_text(text, timeout=timeout))


def contains(page: Remote, selector: str, text: str, timeout: int = LIVE_WITHIN) -> None:
    check(page, lambda p: expect(p.locator(selector)).to_contain_text(text, timeout=timeout))


def live_state(page: Remote, state: str, timeout: int = 10_000) -> None:
    check(
        page,
        lambda p: expect(p.locator("[data-live-status]")).to_have_attribute(
            "data-state", state, timeout=timeout
        ),
    )


def open_live(page: Remote, path: str) -> None:
    page.goto(path)
    live_state(page, "live")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads


def same_document(page: Remote) -> bool:
    return page.evaluate("window.__sameDocument === true")


@pytest.fixture
def colleague(queue_a: Any) -> Any:
    user = make_user("carol", "agent")
    queue_a.members.add(user)
    return user


def test_two_agents_see_each_others_changes_without_reloading(browser, live_url, agent, colleague):
    alice = open_as(browser, live_url, live_session(agent))
    carol_dashboard = open_as(browser, live_url, live_session(colleague))
    carol_list = another_tab(carol_dashboard)
    open_live(carol_dashboard, "/dashboard/")
    open_live(carol_list, "/tickets/?status=active")
    text_of(carol_dashboard, '[data-count="status-new"]', "0")

    # Alice creates a ticket whose subject is an HTML injection attempt.
    alice.goto("/tickets/new/")
    alice.select_option("#id_queue", label="Alpha support")
    alice.fill("#id_subject", XSS)
    alice.fill("#id_description", "Steps to reproduce")
    alice.click("button:has-text('Create ticket')")
    contains(alice, "h1", XSS, timeout=10_000)
    ref = alice.locator("h1 .ref").text_content()

    # Carol's dashboard and list follow within 2 s, the subject shown as text.
    text_of(carol_dashboard, '[data-count="status-new"]', "1")
    text_of(carol_dashboard, '[data-count="unassigned"]', "1")
    check(
        carol_dashboard,
        lambda p: expect(p.locator('[data-panel="unassigned"] li')).to_have_count(
            1, timeout=LIVE_WITHIN
        ),
    )
    contains(carol_dashboard, '[data-panel="unassigned"] li', f"{ref} {XSS}")
    contains(carol_dashboard, "ol[data-feed] li >> nth=0", f"alice created {ref} {XSS}")
    row = f"tbody tr:has-text('{ref}')"
    text_of(carol_list, f"{row} td.subject", XSS)
    text_of(carol_list, "[data-list-count]", "1 ticket")
    assert carol_dashboard.locator("main img").count() == 0
    assert carol_list.locator("main img").count() == 0

    # Carol opens the ticket: each page shows who else is looking.
    carol_ticket = another_tab(carol_dashboard)
    open_live(carol_ticket, f"/tickets/{ref}/")
    alice.evaluate("window.__sameDocument = true")
    contains(alice, "[data-presence]", "Also viewing: carol")
    contains(carol_ticket, "[data-presence]", "Also viewing: alice")

    # Alice assigns it to Carol: Carol's counters, lists and ticket page follow.
    alice.select_option("#id_assignee", label="carol")
    alice.click("button:has-text('Assign')")
    text_of(carol_dashboard, '[data-count="mine"]', "1")
    text_of(carol_dashboard, '[data-count="unassigned"]', "0")
    contains(carol_dashboard, '[data-panel="mine"] li', ref)
    check(
        carol_dashboard,
        lambda p: expect(p.locator('[data-panel="unassigned"] [data-empty]')).to_be_visible(),
    )
    text_of(carol_list, f'{row} td[data-col="assignee"]', "carol")
    contains(carol_ticket, "[data-ticket-banner]", "alice assigned (carol) just now.")

    # Alice moves it along: the status counters follow.
    alice.click("button:has-text('Mark pending')")
    text_of(carol_dashboard, '[data-count="status-pending"]', "1")
    text_of(carol_dashboard, '[data-count="status-new"]', "0")
    text_of(carol_list, f'{row} td[data-col="status"]', "Pending")
    contains(carol_ticket, "[data-ticket-banner]", "alice changed status (New → Pending) just now.")

    ARTIFACTS.mkdir(exist_ok=True)
    carol_dashboard.screenshot(path=str(ARTIFACTS / "live-dashboard.png"), full_page=True)
    carol_list.screenshot(path=str(ARTIFACTS / "live-ticket-list.png"), full_page=True)
    carol_ticket.screenshot(path=str(ARTIFACTS / "live-ticket-detail.png"), full_page=True)
    for page in (carol_dashboard, carol_list, carol_ticket):
        assert same_document(page)
    assert alice.problems == []
    assert carol_dashboard.problems == []


def test_a_page_reconnects_after_a_restart_and_catches_up(
    browser, live_site, agent, colleague, queue_a
):
    """The server behind /ws/ restarts: in dev the one daphne, in production the daphne
    behind nginx (pages stay up on gunicorn meanwhile)."""
    server = live_site.sockets
    carol = open_as(browser, live_site.url, live_session(colleague))
    open_live(carol, "/dashboard/")
    server.stop()
    try:
        live_state(carol, "reconnecting")
        # A change while the page is offline: its event reaches nobody.
        services.ticket_create(actor=agent, queue=queue_a, subject="Happened while offline")
    finally:
        server.start()
    live_state(carol, "live", timeout=20_000)
    text_of(carol, '[data-count="status-new"]', "1")
    contains(carol, '[data-panel="unassigned"] li', "Happened while offline")
    assert same_document(carol)
    # While the server was down the browser logged failed connections; nothing else.
    others = [
        problem
        for problem in carol.problems
        if "WebSocket" not in problem and not problem.startswith("Failed to load resource")
    ]
    assert others == []


def test_logging_out_in_another_tab_ends_the_live_connection(browser, live_url, colleague):
    carol = open_as(browser, live_url, live_session(colleague))
    open_live(carol, "/dashboard/")
    other_tab = another_tab(carol)
    other_tab.goto("/tickets/")
    other_tab.click("button:has-text('Log out')")
    live_state(carol, "ended", timeout=LIVE_WITHIN)
    contains(carol, "[data-live-status]", "Your session has ended. Log in again")
    assert carol.problems == []
