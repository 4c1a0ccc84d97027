"""/accounts/sudo/: re-entering the password unlocks sensitive changes for 10 minutes."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from accounts.login_state import SUDO_AT
from tests.accounts.conftest import PASSWORD
from tests.conftest import login


def test_it_asks_for_the_password(client, staff, device):
    login(client, staff)
    response = client.get("/accounts/sudo/?next=/accounts/2fa/backup-codes/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_the_right_password_unlocks_for_ten_minutes(client, staff, device):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        login(client, staff)
        response = client.post(
            "/accounts/sudo/", {"password": PASSWORD, "next": "/accounts/2fa/setup/"}
        )
        assert response.status_code == 302
        assert response["Location"] == "/accounts/2fa/setup/"
        traveller.shift(timedelta(minutes=9, seconds=59))
        client.get("/dashboard/")  # stay active
        assert client.get("/accounts/2fa/setup/").status_code == 200
        traveller.shift(timedelta(seconds=2))
        response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sudo/")


def test_a_wrong_password_does_not_unlock(client, staff, device):
    login(client, staff)
    response = client.post("/accounts/sudo/", {"password": "guess-guess-guess"})
    assert response.status_code == 400
    assert b"That is not your password" in response.content
    assert SUDO_AT not in client.session


def test_wrong_passwords_here_count_towards_the_login_lockout(client, staff, device):
    login(client, staff)
    for _ in range(4):
        assert client.post("/accounts/sudo/", {"password": "guess-guess-guess"}).status_code == 400
    response = client.post("/accounts/sudo/", {"password": "guess-guess-guess"})
    assert response.status_code == 429
    response = client.post("/accounts/sudo/", {"password": PASSWORD})
    assert response.status_code == 429
    assert SUDO_AT not in client.session


def test_it_only_goes_on_to_same_site_paths(client, staff, device):
    login(client, staff)
    response = client.post("/accounts/sudo/", {"password": PASSWORD, "next": "//evil.example/"})
    assert response["Location"] == "/accounts/2fa/"
