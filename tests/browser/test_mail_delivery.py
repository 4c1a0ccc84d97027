"""An agent's public reply in a real browser: the reply shows "Mail: queued", the task worker
sends it to a real SMTP server, and the badge turns "sent" without a reload (the delivery
event reaches the ticket page through Redis and daphne). Nothing breaks the CSP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_live_dashboard import check, live_state, open_as, same_document
from tests.live.conftest import live_session
from tests.mail.dovecot import free_port
from tests.mail.outbox import run_worker, serving, use_smtp
from tests.mail.smtpd import SmtpServer
from tickets import services
from tickets.mail.outbound_models import OutboundMail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(host="127.0.0.1", port=free_port())
    with serving(server):
        yield server


def badge_says(page: Any, state: str, timeout: int = 5000) -> None:
    def assertion(p: Any) -> None:
        badge = p.locator("[data-delivery]")
        expect(badge).to_have_attribute("data-state", state, timeout=timeout)
        expect(badge.locator("[data-delivery-label]")).to_have_text(state)

    check(page, assertion)


def test_a_reply_turns_sent_without_a_reload_once_the_worker_sent_it(
    browser: Any, live_url: str, settings: Any, smtp_server: SmtpServer, agent: Any, queue_a: Any
) -> None:
    requester = services.contact_get_or_create(actor=agent, email="rita@example.com", name="Rita")
    ticket = services.ticket_create(
        actor=agent, queue=queue_a, subject="Printer on fire", contact=requester
    )
    page = open_as(browser, live_url, live_session(agent))
    page.goto(ticket.get_absolute_url())
    page.fill("#id_body", "Please switch it off.")
    page.click("[data-send]")
    live_state(page, "live")
    page.evaluate("window.__sameDocument = true")
    badge_says(page, "queued")
    assert smtp_server.messages == []  # the request only queued it

    use_smtp(settings, smtp_server)
    run_worker()
    assert smtp_server.wait_for(1)[0].rcpt_tos == ["rita@example.com"]
    assert OutboundMail.objects.get().state == "sent"

    badge_says(page, "sent")
    assert same_document(page), "the page reloaded"
    assert page.problems == []
