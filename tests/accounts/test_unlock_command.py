"""manage.py unlock: lift a login lockout."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from audit.models import SecurityEvent
from tests.accounts.conftest import PASSWORD, password_step


def lock(client, username="alice"):
    for _ in range(5):
        password_step(client, username, "wrong-password-123")
    assert password_step(client, username, PASSWORD).status_code == 429


def test_it_unlocks_a_username(client, staff, device, capsys):
    lock(client)
    call_command("unlock", "Alice")  # any case, like the login form
    assert "cleared 1 lockout record(s)" in capsys.readouterr().out
    assert password_step(client, "alice", PASSWORD).status_code == 302
    event = SecurityEvent.objects.get(action="lockout_cleared")
    assert event.resource == "username:alice"


def test_it_unlocks_an_address(client, staff, device, capsys):
    lock(client)
    call_command("unlock", "--ip", "127.0.0.1")
    assert password_step(client, "alice", PASSWORD).status_code == 302


def test_it_leaves_other_lockouts_alone(client, staff, device, capsys):
    lock(client)
    call_command("unlock", "bob")
    assert "cleared 0" in capsys.readouterr().out
    assert password_step(client, "alice", PASSWORD).status_code == 429


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_username_lifts_nothing(client, staff, device, blank):
    lock(client)
    with pytest.raises(CommandError, match="the username is empty"):
        call_command("unlock", blank)
    assert password_step(client, "alice", PASSWORD).status_code == 429
    assert not SecurityEvent.objects.filter(action="lockout_cleared").exists()


def test_it_explains_bad_input(db):
    with pytest.raises(CommandError, match="name a username"):
        call_command("unlock")
    with pytest.raises(CommandError, match="not an IP address"):
        call_command("unlock", "--ip", "example.org")
