"""manage.py changepassword goes through the accounts service: the user's sessions end, a
security event names who ran it. (Without a terminal it refuses in one line:
tests/test_command_bad_input_sweep.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.management.commands.changepassword import Command as DjangoCommand
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import UserSession
from audit.models import SecurityEvent
from tests.conftest import login


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the operator types at the two password prompts, in order."""
    answers: list[str] = []
    feed: Iterator[str] = iter(answers)
    monkeypatch.setattr(DjangoCommand, "_get_pass", lambda self, prompt="": next(feed))
    return answers


def test_it_sets_the_password_ends_sessions_and_records_it(staff, device, typed, capsys):
    session = login(Client(), staff)
    typed += ["a new long passphrase 41"] * 2

    call_command("changepassword", "alice")

    assert "Password changed for user 'alice'; 1 session(s) ended" in capsys.readouterr().out
    staff.refresh_from_db()
    assert staff.check_password("a new long passphrase 41")
    assert session.get("/dashboard/").status_code == 302
    assert not UserSession.objects.filter(user=staff).exists()
    event = SecurityEvent.objects.get(action="password_changed")
    assert event.details == {"by_command": True, "sessions_ended": 1}
    assert event.actor_username.startswith("cli")
    assert "passphrase" not in str(event.details)


def test_a_weak_or_mismatched_password_is_refused_three_times(staff, typed, capsys):
    typed += ["one", "two", "short", "short", "123", "123"]

    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", "alice")

    staff.refresh_from_db()
    assert not staff.check_password("short")
    assert not SecurityEvent.objects.filter(action="password_changed").exists()


def test_an_unknown_user_is_one_line(db, typed):
    with pytest.raises(CommandError, match="user 'ghost' does not exist"):
        call_command("changepassword", "ghost")
