"""The foundation's promise, in a real browser: the first admin from `make run` logs in with
the printed password, enrols, creates a queue in the admin site, then creates, assigns,
comments on and resolves a ticket in the staff UI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.test_login_flow import code_for
from tickets.models import Activity, Comment, Queue, Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_newcomer_goes_from_make_run_to_a_resolved_ticket(page, capsys):
    call_command("bootstrapadmin")
    password = re.search(r"password: (\S+)", capsys.readouterr().out)[1]

    page.goto("/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/setup/")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.fill("#id_code", code_for(secret))
    page.click("text=Confirm")
    page.click("text=I saved my codes")
    page.wait_for_url("**/dashboard/")

    # A queue in the admin site (the slug is filled in by the admin's own script).
    page.click("nav.mainnav >> text=Admin")
    page.goto("/admin/tickets/queue/add/")
    page.locator("#id_name").press_sequentially("Front desk")
    assert page.input_value("#id_slug") == "front-desk"
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")
    assert Queue.objects.filter(slug="front-desk").exists()

    # A ticket in the staff UI: create, assign, reply, resolve.
    page.goto("/tickets/new/")
    page.select_option("#id_queue", label="Front desk")
    page.fill("#id_subject", "Badge reader at the side door")
    page.fill("#id_description", "Blinks red for every badge since this morning.")
    page.fill("#id_contact_email", "sam@example.org")
    page.click("text=Create ticket")
    page.wait_for_selector("text=created.")
    ticket = Ticket.objects.get()
    assert page.url.endswith(ticket.get_absolute_url())

    page.select_option("#id_assignee", label="admin")
    page.click("button:has-text('Assign')")
    page.wait_for_selector("text=Assignee updated.")
    page.fill("#id_body", "Reset the reader; please try your badge again.")
    page.click("[data-send]")
    page.wait_for_selector("text=Reply added.")
    page.click("button:has-text('Mark resolved')")
    page.wait_for_selector("text=Status updated.")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee.username) == ("resolved", "admin")
    assert ticket.first_response_at is not None
    assert Comment.objects.get().body == "Reset the reader; please try your badge again."
    verbs = list(Activity.objects.order_by("id").values_list("verb", flat=True))
    assert verbs == ["created", "assigned", "status", "commented", "status"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "newcomer-resolved-ticket.png"), full_page=True)
    assert page.problems == []
