"""The agent's list in a real browser: bulk-assign with two tickets the agent may no longer
touch, save a view and reopen it from the navigation, and no page scrolls sideways at 360 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Remote, in_browser, new_context
from tests.conftest import make_user
from tests.live.conftest import live_session
from tickets import services
from tickets.models import Priority, Queue, Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def open_as(browser: Remote, live_url: str) -> Any:
    """Opens a page logged in as a user; closes its browser context (and so its websocket,
    before the database is flushed) after the test."""
    opened: list[Remote] = []

    def open_page(user: Any, width: int = 1280) -> Remote:
        page = _open(browser, live_url, user, width)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        in_browser(lambda p: p.context.close(), page)


def _open(browser: Remote, base_url: str, user: Any, width: int) -> Remote:
    key = live_session(user)
    problems: list[str] = []

    def open_page(chromium: Any) -> Page:
        context = new_context(
            chromium, base_url, session_key=key, viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        return page

    page = in_browser(open_page, browser)
    object.__setattr__(page, "problems", problems)
    return page


@pytest.fixture
def team(db: Any) -> dict[str, Any]:
    alpha = Queue.objects.create(name="Alpha support", slug="alpha")
    beta = Queue.objects.create(name="Beta billing", slug="beta")
    agent = make_user("alice", "agent", first_name="Alice", last_name="Agent")
    alpha.members.add(agent)
    return {"alpha": alpha, "beta": beta, "agent": agent, "manager": make_user("maria", "manager")}


def test_bulk_assign_names_the_two_tickets_the_agent_may_not_touch(open_as, team):
    agent, manager = team["agent"], team["manager"]
    tickets = [
        services.ticket_create(actor=agent, queue=team["alpha"], subject=f"Printer {i}")
        for i in range(20)
    ]
    page = open_as(agent)
    page.goto("/tickets/")
    in_browser(lambda p: expect(p.locator("tbody tr")).to_have_count(20), page)
    live = page.locator("[data-live-status]")
    in_browser(lambda s: expect(s).to_have_attribute("data-state", "live"), live)
    page.locator("[data-select-all]").check()
    in_browser(
        lambda p: expect(p.locator("[data-selected-count]")).to_have_text("20 selected"), page
    )
    # Meanwhile a manager moves two of them to a queue the agent does not work.
    gone = tickets[3:5]
    for ticket in gone:
        services.ticket_change_queue(actor=manager, ticket=ticket, queue=team["beta"])
    stale = page.locator("tbody tr.live-stale")
    in_browser(lambda rows: expect(rows).to_have_count(2), stale)  # still listed, faded
    page.select_option("#bulk-assignee", str(agent.pk))
    page.locator("button[name=action][value=assign]").click()
    refs = ", ".join(t.reference for t in gone)
    message = page.locator(".messages .message")
    in_browser(lambda m: expect(m).to_have_text(f"18 changed, 2 not allowed: {refs}."), message)
    assert Ticket.objects.filter(assignee=agent).count() == 18
    assert not Ticket.objects.filter(pk__in=[t.pk for t in gone], assignee__isnull=False).exists()
    assert page.problems == []


def test_a_saved_view_reopens_from_the_navigation(open_as, team):
    agent = team["agent"]
    services.ticket_create(
        actor=agent, queue=team["alpha"], subject="Server down", priority=Priority.URGENT
    )
    services.ticket_create(actor=agent, queue=team["alpha"], subject="Keyboard sticky")
    page = open_as(agent)
    page.goto("/tickets/")
    in_browser(lambda p: expect(p.locator("tbody tr")).to_have_count(2), page)
    page.select_option("#id_priority", str(Priority.URGENT))  # applies at once, no Apply
    page.wait_for_url("**/tickets/?*priority=4*")
    in_browser(lambda p: expect(p.locator("tbody tr")).to_have_count(1), page)
    page.locator(".save-view summary").click()
    page.fill("#view-name", "Fires")
    page.locator(".save-view button[type=submit]").first.click()
    in_browser(lambda p: expect(p.locator("h1")).to_have_text("Fires"), page)
    page.goto("/dashboard/")
    link = page.locator(".mainnav a.saved-view", has_text="Fires")
    in_browser(lambda lk: expect(lk.locator(".count")).to_have_text("1"), link)
    link.click()
    in_browser(lambda p: expect(p.locator("h1")).to_have_text("Fires"), page)
    in_browser(lambda p: expect(p.locator("tbody tr")).to_have_count(1), page)
    in_browser(lambda p: expect(p.locator("tbody tr .subject")).to_have_text("Server down"), page)
    assert page.problems == []


@pytest.mark.parametrize("path", ["/tickets/", "/dashboard/", "/accounts/sessions/"])
def test_no_page_scrolls_sideways_at_360_px(open_as, team, path):
    agent = team["agent"]
    for i in range(8):
        t = services.ticket_create_for_requester(
            actor=agent,
            queue=team["alpha"],
            subject=f"A rather long subject line that goes on and on about printer {i}",
            contact_email=f"person{i}@example.org",
            contact_name=f"Person with a long name {i}",
        )
        services.ticket_assign(actor=agent, ticket=t, assignee=agent)
    live_session(agent)  # a second session, so the sessions page has a row to sign out
    page = open_as(agent, width=360)
    page.goto(path)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{path} is {widths[0]} px wide at 360 px"
    toggle = page.locator("[data-menu-toggle]")
    in_browser(lambda t: expect(t).to_be_visible(), toggle)
    in_browser(lambda p: expect(p.locator(".mainnav")).to_be_hidden(), page)
    toggle.click()
    in_browser(lambda p: expect(p.locator(".mainnav")).to_be_visible(), page)
    assert page.problems == []


def test_a_searched_list_redraws_snippets_when_matching_tickets_change(open_as, team):
    agent = team["agent"]
    laptop = services.ticket_create(
        actor=agent, queue=team["alpha"], subject="Laptop", description="The dock flickers"
    )
    other = services.ticket_create(actor=agent, queue=team["alpha"], subject="Monitor")
    page = open_as(agent)
    page.goto("/tickets/?q=dock")
    snippet = page.locator(f'tr[data-snippet-for="{laptop.pk}"]')
    in_browser(lambda s: expect(s).to_have_text("The dock flickers"), snippet)
    in_browser(lambda s: expect(s.locator("mark")).to_have_text("dock"), snippet)
    live = page.locator("[data-live-status]")
    in_browser(lambda s: expect(s).to_have_attribute("data-state", "live"), live)
    # Words events do not carry: the page asks the server for its rows and snippets again.
    services.ticket_change_description(
        actor=agent, ticket=laptop, description="A new docking station arrived"
    )
    in_browser(lambda s: expect(s).to_have_text("A new docking station arrived"), snippet)
    in_browser(lambda s: expect(s.locator("mark")).to_have_text("docking"), snippet)
    services.comment_add(actor=agent, ticket=other, body="The <b>dock</b> is loose")
    added = page.locator(f'tr[data-snippet-for="{other.pk}"]')
    in_browser(lambda s: expect(s).to_have_text("The <b>dock</b> is loose"), added)
    in_browser(lambda p: expect(p.locator("tbody tr[data-ticket-id]")).to_have_count(2), page)
    in_browser(lambda p: expect(p.locator("[data-list-count]")).to_have_text("2 tickets"), page)
    assert page.problems == []
