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
