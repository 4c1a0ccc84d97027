"""The agent's ticket work in a real browser: a canned response inserted and sent with
"Send and resolve"; a mention that reaches a colleague live and nobody without access;
a reply written and sent with the keyboard only. Nothing breaks the CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_live_dashboard import (
    check,
    contains,
    live_state,
    open_as,
    open_live,
    same_document,
)
from tests.conftest import make_user
from tests.live.conftest import live_session
from tickets import services
from tickets.agent_models import CannedResponse
from tickets.models import Comment, Priority, Status

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_canned_response_is_inserted_and_sent_with_send_and_resolve(
    browser: Any, live_url: str, agent: Any, queue_a: Any
) -> None:
    rita = services.contact_get_or_create(actor=agent, email="rita@example.com", name="Rita")
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="VPN", contact=rita)
    CannedResponse.objects.create(
        name="Solved: VPN reset",
        body="Hello {requester_name}, we reset your VPN access ({reference}).",
        set_priority=Priority.LOW,
    )
    page = open_as(browser, live_url, live_session(agent))
    page.goto(ticket.get_absolute_url())
    page.fill("[data-canned-search]", "vpn reset")
    page.press("[data-canned-search]", "Enter")
    body = f"Hello Rita, we reset your VPN access ({ticket.reference})."
    check(page, lambda p: expect(p.locator("#id_body")).to_have_value(body))
    check(page, lambda p: expect(p.locator("[data-canned-effect]")).to_contain_text("Low"))
    page.click("[data-send-resolved]")
    page.wait_for_selector("text=Reply added.")
    comment = Comment.objects.get(ticket=ticket)
    assert page.url.endswith(f"#c-{comment.pk}")
    assert str(comment.body) == body and not comment.is_internal
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.RESOLVED, Priority.LOW)
    assert page.problems == []


def test_a_mention_reaches_a_colleague_live_and_not_an_agent_without_access(
    browser: Any, live_url: str, agent: Any, agent_b: Any, queue_a: Any
) -> None:
    carol = make_user("carol", "agent")
    queue_a.members.add(carol)
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="Server room door")
    carols = open_as(browser, live_url, live_session(carol))
    open_live(carols, "/dashboard/")
    bobs = open_as(browser, live_url, live_session(agent_b))
    open_live(bobs, "/dashboard/")

    alice = open_as(browser, live_url, live_session(agent))
    alice.goto(ticket.get_absolute_url())
    alice.fill("#id_body", "@carol @bob can one of you check the lock?")
    alice.check("#id_is_internal")
    alice.click("[data-send]")
    alice.wait_for_selector("text=Internal note added.")

    check(carols, lambda p: expect(p.locator("[data-notify-count]")).to_have_text("1"))
    toast = carols.locator("[data-notify-toast]")
    check(carols, lambda p: expect(p.locator("[data-notify-toast]")).to_contain_text("alice"))
    assert toast.locator("a").get_attribute("href").startswith(ticket.get_absolute_url())
    live_state(bobs, "live")
    check(bobs, lambda p: expect(p.locator("[data-notify-count]")).to_be_hidden())
    assert bobs.locator("[data-notify-toast]").count() == 0
    assert carols.problems == [] and bobs.problems == [] and alice.problems == []


def test_a_reply_written_and_sent_with_the_keyboard_only(
    browser: Any, live_url: str, agent: Any, queue_a: Any
) -> None:
    ticket = services.ticket_create(actor=agent, queue=queue_a, subject="Keyboard")
    page = open_as(browser, live_url, live_session(agent))
    page.goto(ticket.get_absolute_url())
    page.keyboard.press("?")
    check(page, lambda p: expect(p.locator("[data-keys-help]")).to_be_visible())
    page.keyboard.press("Escape")
    check(page, lambda p: expect(p.locator("[data-keys-help]")).to_be_hidden())
    page.keyboard.press("n")  # a note...
    check(page, lambda p: expect(p.locator("#id_is_internal")).to_be_checked())
    page.keyboard.press("Escape")
    page.locator("#id_body").blur()
    page.keyboard.press("r")  # ...no: a reply
    check(page, lambda p: expect(p.locator("#id_body")).to_be_focused())
    check(page, lambda p: expect(p.locator("#id_is_internal")).not_to_be_checked())
    page.keyboard.type("Typed r and n here: no shortcut fires while typing.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=Reply added.")
    comment = Comment.objects.get(ticket=ticket)
    assert str(comment.body) == "Typed r and n here: no shortcut fires while typing."
    assert not comment.is_internal
    check(page, lambda p: expect(p).to_have_url(re.compile(rf"#c-{comment.pk}$")))
    assert page.problems == []


def test_the_list_is_worked_with_the_keyboard_only(
    browser: Any, live_url: str, agent: Any, queue_a: Any
) -> None:
    _first, second, third = (
        services.ticket_create(actor=agent, queue=queue_a, subject=subject)
        for subject in ("Printer jam", "Mouse broken", "Screen flickers")
    )
    page = open_as(browser, live_url, live_session(agent))
    page.goto("/tickets/")  # newest first: third, second, first
    check(page, lambda p: expect(p.locator("tbody tr[data-key-item]")).to_have_count(3))
    page.keyboard.press("?")
    check(page, lambda p: expect(p.locator("[data-keys-help]")).to_be_visible())
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    check(page, lambda p: expect(p.locator("#id_q")).to_be_focused())
    page.keyboard.type("jk")  # typed into the search field, no shortcut fires
    check(page, lambda p: expect(p.locator("#id_q")).to_have_value("jk"))
    page.locator("#id_q").fill("")
    page.locator("#id_q").blur()
    for key in ("j", "j", "k", "j"):
        page.keyboard.press(key)
    current = page.locator("tbody tr.key-current")
    check(page, lambda p: expect(p.locator("tbody tr.key-current")).to_have_count(1))
    assert current.get_attribute("data-ticket-id") == str(second.pk)
    page.keyboard.press("k")
    assert current.get_attribute("data-ticket-id") == str(third.pk)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{second.get_absolute_url()}")
    page.keyboard.press("r")
    check(page, lambda p: expect(p.locator("#id_body")).to_be_focused())
    page.keyboard.type("On it.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=Reply added.")
    [comment] = Comment.objects.all()
    assert (comment.ticket_id, str(comment.body)) == (second.pk, "On it.")
    assert page.problems == []


def test_the_keyboard_cursor_stays_on_its_ticket_when_a_live_change_redraws_the_rows(
    browser: Any, live_url: str, agent: Any, queue_a: Any
) -> None:
    first, second, third = (
        services.ticket_create(actor=agent, queue=queue_a, subject=subject)
        for subject in ("Printer jam", "Mouse broken", "Screen flickers")
    )
    page = open_as(browser, live_url, live_session(agent))
    open_live(page, "/tickets/")  # recently changed first: third, second, first
    page.keyboard.press("j")
    page.keyboard.press("j")  # the cursor on "Mouse broken"
    current = page.locator("tbody tr.key-current")
    assert current.get_attribute("data-ticket-id") == str(second.pk)
    # Changes redraw that row and move it to the top, then another above it:
    # first, second, third.
    services.ticket_change_priority(actor=agent, ticket=second, priority=Priority.HIGH)
    contains(page, f'tr[data-ticket-id="{second.pk}"] [data-col="priority"]', "High")
    services.ticket_change_priority(actor=agent, ticket=first, priority=Priority.HIGH)
    contains(page, f'tr[data-ticket-id="{first.pk}"] [data-col="priority"]', "High")
    check(page, lambda p: expect(p.locator("tbody tr.key-current")).to_have_count(1))
    assert current.get_attribute("data-ticket-id") == str(second.pk)
    page.keyboard.press("j")  # and moves on from there
    assert current.get_attribute("data-ticket-id") == str(third.pk)
    assert same_document(page)
    assert page.problems == []
