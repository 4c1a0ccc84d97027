"""A user's language and time zone: chosen on the preferences page, applied to every page."""

from __future__ import annotations

import pytest

from accounts.models import UserPreference
from tests.accounts.conftest import code_step, password_step, totp_code

pytestmark = pytest.mark.django_db


def test_the_browser_language_is_used_until_one_is_chosen(agent_client, ticket_a):
    page = agent_client.get(ticket_a.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content
    assert "Senden und lösen".encode() in page
    assert b'<html lang="de" ' in page
    page = agent_client.get(ticket_a.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Send and resolve" in page


def test_a_chosen_language_and_time_zone_apply_to_every_page(agent_client, agent, ticket_a):
    response = agent_client.post(
        "/accounts/preferences/", {"language": "de", "time_zone": "Europe/Berlin"}
    )
    assert response.status_code == 302
    assert UserPreference.objects.get(user=agent).time_zone == "Europe/Berlin"
    page = agent_client.get(ticket_a.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content
    page = page.decode()
    assert "Senden und lösen" in page and "Send and resolve" not in page
    assert "CET" in page or "CEST" in page  # absolute times name the user's zone
    assert "UTC" not in page.split('id="desc-title"')[1]


def test_the_saved_preference_applies_from_the_login_on(client, staff, device):
    UserPreference.objects.create(user=staff, language="de", time_zone="Europe/Berlin")
    password_step(client, "alice")
    code_step(client, totp_code(device))
    page = client.get("/accounts/sessions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Einstellungen" in page  # the header's "Preferences" link, in German


def test_an_unknown_time_zone_or_language_is_a_clear_error(agent_client):
    response = agent_client.post("/accounts/preferences/", {"language": "xx", "time_zone": ""})
    assert response.status_code == 400
    response = agent_client.post(
        "/accounts/preferences/", {"language": "", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_security_notice_goes_out_in_the_recipients_language_and_zone(
    manager, agent, django_capture_on_commit_callbacks
):
    """An English-speaking admin resets a German user's second factor: the user's mail is
    German and in Berlin time."""
    from django.core import mail

    from accounts import services

    agent.email = "alice@example.org"
    agent.save(update_fields=["email"])
    UserPreference.objects.create(user=agent, language="de", time_zone="Europe/Berlin")
    with django_capture_on_commit_callbacks(execute=True):
        services.two_factor_reset(actor=manager, user=agent)
    notice = mail.outbox[-1]
    assert notice.subject.endswith("Sicherheitsänderung an Ihrem Konto")
    assert notice.body.startswith("Guten Tag alice,")
    assert "Zwei-Faktor-Authentifizierung zurückgesetzt" in notice.body
    assert " CET" in notice.body or " CEST" in notice.body


def test_every_page_of_a_german_session_says_german_words(agent_client, agent, ticket_a):
    agent_client.post("/accounts/preferences/", {"language": "de", "time_zone": "Europe/Berlin"})
    for path in ("/dashboard/", "/tickets/", ticket_a.get_absolute_url(), "/accounts/sessions/"):
        page = agent_client.get(path).content.decode()
        assert "Übersicht" in page and "Neues Ticket" in page, path  # the navigation
        assert "Dashboard" not in page and "New ticket" not in page, path
    page = agent_client.get("/tickets/").content.decode()
    assert "Bearbeiter" in page and "Aktualisiert" in page and "Anwenden" in page
