"""Phones in a real browser: every page of the product at 360x740 fits the screen (no
sideways scroll; a screenshot of each goes to a temporary folder), and on the ticket list at
390x844 the filters fold away so the first ticket is on the first screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import TOTPDevice
from tests.browser.conftest import Remote, in_browser, new_context, watch_problems
from tests.browser.test_login_flow import code_for
from tests.conftest import make_user
from tests.helpers import PNG, upload
from tests.live.conftest import live_session
from tickets import services
from tickets.agent_models import CannedResponse
from tickets.models import Priority, Queue, Status, Ticket
from tickets.organising_models import Tag

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "amber-lighthouse-river-58"
LONG = "A rather long subject line that goes on and on about the printer on the third floor"
# A word no line break can split: the page must still not scroll sideways.
UNBROKEN = "https://intranet.example.org/printers/third-floor/" + "x" * 60


def _open(browser: Remote, base_url: str, size: tuple[int, int], session: str = "") -> Remote:
    problems: list[str] = []

    def open_page(chromium: Any) -> Page:
        width, height = size
        context = new_context(
            chromium, base_url, session_key=session, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        watch_problems(page, problems)
        return page

    page = in_browser(open_page, browser)
    object.__setattr__(page, "problems", problems)
    return page


@pytest.fixture
def open_at(browser: Remote, live_url: str) -> Any:
    """Opens a page of the given size (logged in with a session key, if given); closes its
    browser context (and its websocket, before the database is flushed) after the test."""
    opened: list[Remote] = []

    def open_page(size: tuple[int, int], session: str = "") -> Remote:
        page = _open(browser, live_url, size, session)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        in_browser(lambda p: p.context.close(), page)


@pytest.fixture
def desk(db: Any) -> dict[str, Any]:
    """A queue with an agent, a colleague and a manager; long subjects and names, long
    unbroken words in a comment and a file name, a closed ticket, a tag, a saved view, a
    canned response, a followed ticket and a mention: every page has something to show."""
    alpha = Queue.objects.create(name="Alpha support and a long queue name", slug="alpha")
    agent = make_user("alice", "agent", first_name="Alice", last_name="Agentwithalongname")
    colleague = make_user("carol", "agent")
    manager = make_user("maria", "manager")
    for user in (agent, colleague):
        alpha.members.add(user)
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    tag = Tag.objects.create(name="urgent-customer", slug="urgent-customer")
    tickets = []
    for i in range(6):
        ticket = services.ticket_create_for_requester(
            actor=agent,
            queue=alpha,
            subject=f"{LONG} {i}",
            contact_email=f"person.with.a.long.address{i}@example.org",
            contact_name=f"Person with a long name {i}",
            priority=Priority.HIGH,
        )
        services.ticket_assign(actor=agent, ticket=ticket, assignee=agent)
        tickets.append(ticket)
    services.ticket_add_tag(actor=agent, ticket=tickets[0], tag=tag)
    services.comment_add(actor=agent, ticket=tickets[0], body=f"See {UNBROKEN} for the map.")
    services.comment_add(
        actor=colleague, ticket=tickets[0], body="@alice please look at this", is_internal=True
    )
    services.attachment_add(
        actor=agent, ticket=tickets[0], upload=upload("screenshot_" + "x" * 80 + ".png", PNG)
    )
    services.ticket_follow(actor=agent, ticket=tickets[0])
    closed = tickets[1]
    for status in (Status.RESOLVED, Status.CLOSED):
        services.ticket_change_status(actor=agent, ticket=closed, status=status)
    view = services.saved_view_save(actor=agent, name="High priority", query="priority=3")
    canned = CannedResponse.objects.create(
        owner=agent, name="Printer reset", body="Hello {requester_name}, " + UNBROKEN
    )
    return {
        "agent": agent,
        "manager": manager,
        "open": tickets[0],
        "closed": closed,
        "view": view,
        "canned": canned,
    }


def _agent_pages(desk: dict[str, Any]) -> list[str]:
    return [
        "/dashboard/",
        "/tickets/",
        "/tickets/?status=any&priority=3&q=printer&sort=due",
        "/tickets/?q=nothing-matches-this",
        f"/tickets/?view={desk['view'].pk}",
        "/tickets/new/",
        desk["open"].get_absolute_url(),
        desk["closed"].get_absolute_url(),
        "/tickets/following/",
        "/notifications/",
        "/canned/",
        f"/canned/{desk['canned'].pk}/",
        "/accounts/preferences/",
        "/accounts/sessions/",
        "/accounts/2fa/",
        "/accounts/2fa/backup-codes/",
        "/accounts/2fa/setup/",  # asks for the password first (sudo)
        "/accounts/sudo/",
        "/accounts/password/",
        "/audit/",  # not for agents: the 403 page
        "/tickets/T-999999/",  # the 404 page
        "/no-such-page/",
    ]


MANAGER_PAGES = [
    "/dashboard/",
    "/audit/",
    "/audit/history/",
    "/ops/monitoring/",
    "/admin/",
    "/admin/tickets/ticket/",
]


# The innermost elements that reach past the right edge, for the failure message.
CULPRITS = """() => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter((el) => !Array.from(el.children).some(
    (child) => child.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 4)
  .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
    + "@" + Math.round(el.getBoundingClientRect().right))"""


def _fits(page: Remote, path: str, shots: Path, name: str) -> str | None:
    """Visit the path; a line naming it if the page scrolls sideways (and a screenshot)."""
    page.goto(path)
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    if scroll > inner:
        culprits = page.evaluate(CULPRITS)
        return f"{path} ({name}) is {scroll} px wide at {inner} px: {culprits}"
    return None


def test_no_page_scrolls_sideways_at_360_px(
    open_at: Any, desk: dict[str, Any], tmp_path: Path
) -> None:
    size = (360, 740)
    wide: list[str] = []
    visited = 0
    agent = open_at(size, live_session(desk["agent"]))
    for i, path in enumerate(_agent_pages(desk)):
        wide.append(_fits(agent, path, tmp_path, f"agent-{i:02d}"))
        visited += 1
    manager = open_at(size, live_session(desk["manager"]))
    for i, path in enumerate(MANAGER_PAGES):
        wide.append(_fits(manager, path, tmp_path, f"manager-{i:02d}"))
        visited += 1

    # Before the second factor: the login page, its error, and the code page.
    visitor = open_at(size)
    wide.append(_fits(visitor, "/accounts/login/", tmp_path, "login"))
    visitor.fill("#id_username", "alice")
    visitor.fill("#id_password", "not the password")
    visitor.click("button[type=submit]")
    wide.append(_fits(visitor, visitor.url, tmp_path, "login-error"))
    visitor.fill("#id_username", "alice")
    visitor.fill("#id_password", PASSWORD)
    visitor.click("button[type=submit]")
    visitor.wait_for_url("**/accounts/login/verify/**")
    wide.append(_fits(visitor, visitor.url, tmp_path, "login-verify"))
    # A user without an authenticator is sent to enrol one (the QR code page).
    TOTPDevice.objects.filter(user=desk["agent"]).delete()
    newcomer = open_at(size)
    newcomer.goto("/accounts/login/")
    newcomer.fill("#id_username", "alice")
    newcomer.fill("#id_password", PASSWORD)
    newcomer.click("button[type=submit]")
    newcomer.wait_for_url("**/accounts/2fa/setup/")
    wide.append(_fits(newcomer, newcomer.url, tmp_path, "enrol"))
    secret = newcomer.locator("#totp-secret").get_attribute("data-secret")
    newcomer.fill("#id_code", code_for(secret))
    newcomer.click("text=Confirm")
    newcomer.wait_for_selector("#backup-codes")  # the new backup codes, shown once
    scroll, inner = newcomer.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    newcomer.screenshot(path=str(tmp_path / "backup-codes-new.png"), full_page=True)
    wide.append(f"the new backup codes are {scroll} px wide" if scroll > inner else None)
    visited += 5

    assert visited == len(_agent_pages(desk)) + len(MANAGER_PAGES) + 5
    failing = [line for line in wide if line]
    assert not failing, "\n".join([*failing, f"screenshots in {tmp_path}"])
    assert len(list(tmp_path.glob("*.png"))) == visited
    assert agent.problems == [] and manager.problems == [] and newcomer.problems == []


def test_the_first_ticket_is_on_the_first_screen_of_a_phone(
    open_at: Any, desk: dict[str, Any]
) -> None:
    page = open_at((390, 844), live_session(desk["agent"]))
    page.goto("/tickets/")
    toggle = page.locator("details.filter-toggle")
    in_browser(lambda t: expect(t).not_to_have_attribute("open", ""), toggle)
    in_browser(lambda p: expect(p.locator("#id_q")).to_be_hidden(), page)
    top = page.locator("tbody tr").first.evaluate("row => row.getBoundingClientRect().top")
    assert 0 <= top < 844 - 40, f"the first ticket starts at {top} px"
    # The bulk actions wait until a ticket is selected, then rise from the bottom.
    in_browser(lambda p: expect(p.locator("#bulk-form")).to_be_hidden(), page)
    page.locator("tbody tr input[name=tickets]").first.check()
    in_browser(lambda p: expect(p.locator("#bulk-form")).to_be_in_viewport(), page)
    page.locator("tbody tr input[name=tickets]").first.uncheck()
    # The filters are one tap away, and applying one keeps working.
    page.locator("details.filter-toggle summary").click()
    in_browser(lambda p: expect(p.locator("#id_q")).to_be_visible(), page)
    page.select_option("#id_priority", str(Priority.HIGH))
    page.wait_for_url("**/tickets/?*priority=3*")
    in_browser(lambda p: expect(p.locator("tbody tr")).to_have_count(5), page)
    assert Ticket.objects.filter(priority=Priority.HIGH).count() == 6  # one is closed
    assert page.problems == []


def test_the_filters_stay_open_on_a_wide_screen(open_at: Any, desk: dict[str, Any]) -> None:
    page = open_at((1280, 800), live_session(desk["agent"]))
    page.goto("/tickets/")
    in_browser(lambda p: expect(p.locator("#id_q")).to_be_visible(), page)
    in_browser(lambda p: expect(p.locator("details.filter-toggle summary")).to_be_hidden(), page)
    assert page.problems == []
