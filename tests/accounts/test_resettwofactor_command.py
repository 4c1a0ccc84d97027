"""manage.py resettwofactor: the way back in when no admin can reach the admin site."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import TOTPDevice
from tests.accounts.conftest import password_step
from tests.conftest import login


def test_it_resets_a_users_two_factor_and_ends_their_sessions(staff, device, capsys):
    session = login(Client(), staff)
    call_command("resettwofactor", "alice")
    assert (
        "two-factor authentication reset for alice; 1 session(s) ended" in capsys.readouterr().out
    )
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert session.get("/dashboard/").status_code == 302
    assert password_step(Client(), "alice")["Location"] == "/accounts/2fa/setup/"


def test_it_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("resettwofactor", "ghost")
