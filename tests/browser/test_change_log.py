"""A manager's ticket page loads the field-level change log when its section is opened
(not with the page); nothing breaks the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import in_browser
from tests.browser.test_live_dashboard import open_as
from tests.live.conftest import live_session
from tickets import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_change_log_is_fetched_when_opened(
    browser: Any, live_url: str, manager: Any, agent: Any, ticket_a: Any
) -> None:
    services.ticket_change_status(actor=agent, ticket=ticket_a, status="open")
    page = open_as(browser, live_url, live_session(manager))
    page.goto(ticket_a.get_absolute_url())
    section = page.locator("details[data-changes-url]")
    assert page.locator(".model-history-list").count() == 0  # not with the page
    section.locator("summary").click()
    changes = section.locator(".model-history-list")
    in_browser(lambda found: expect(found).to_be_visible(), changes)
    assert "Open" in changes.locator(".new").all_inner_texts()
    assert section.get_attribute("data-changes-loaded") == ""
    assert page.problems == []
