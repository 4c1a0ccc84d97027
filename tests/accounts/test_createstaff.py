"""createstaff and bootstrapadmin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from ticketsystem.roles import user_roles

pytestmark = pytest.mark.django_db


def _password_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pw"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("role", "is_staff", "is_superuser"),
    [("agent", False, False), ("manager", True, False), ("admin", True, True)],
)
def test_createstaff_creates_a_user_with_a_role(tmp_path, role, is_staff, is_superuser):
    pw = _password_file(tmp_path, "correct horse battery staple 9")
    call_command("createstaff", "dana", role=role, password_file=pw, email="dana@example.org")
    user = get_user_model().objects.get(username="dana")
    assert (user.is_staff, user.is_superuser) == (is_staff, is_superuser)
    assert role in user_roles(user)
    assert user.check_password("correct horse battery staple 9")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "too short"),
        ("password1234", "too common"),
        ("1234567890123", "entirely numeric"),
        ("x" * 129, "too long"),
        ("danawhitfield", "too similar"),
    ],
)
def test_createstaff_enforces_the_password_policy(tmp_path, password, message):
    pw = _password_file(tmp_path, password)
    with pytest.raises(CommandError, match=message):
        call_command("createstaff", "dana.whitfield", role="agent", password_file=pw)
    assert not get_user_model().objects.exists()


def test_createstaff_reports_an_unreadable_password_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("createstaff", "dana", role="agent", password_file=tmp_path / "missing")


def test_createstaff_refuses_a_duplicate_username(tmp_path):
    pw = _password_file(tmp_path, "correct horse battery staple 9")
    call_command("createstaff", "dana", role="agent", password_file=pw)
    with pytest.raises(CommandError, match="already exists"):
        call_command("createstaff", "dana", role="manager", password_file=pw)


@pytest.mark.parametrize("email", ["dana@", "not an address", "dana@example.org\x00"])
def test_createstaff_refuses_a_malformed_email_address(tmp_path, email):
    pw = _password_file(tmp_path, "correct horse battery staple 9")
    with pytest.raises(CommandError, match="valid email address"):
        call_command("createstaff", "dana", role="agent", password_file=pw, email=email)
    assert not get_user_model().objects.exists()


def test_createstaff_takes_a_blank_email_address_as_none(tmp_path):
    pw = _password_file(tmp_path, "correct horse battery staple 9")
    call_command("createstaff", "dana", role="agent", password_file=pw, email="  ")
    assert get_user_model().objects.get(username="dana").email == ""


def test_createstaff_has_no_password_argument():
    with pytest.raises(CommandError):
        call_command("createstaff", "dana", "--role", "agent", "--password", "x")


def test_bootstrapadmin_creates_the_first_admin_once(capsys):
    call_command("bootstrapadmin")
    out = capsys.readouterr().out
    password = re.search(r"password: (\S+)", out).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    call_command("bootstrapadmin")
    assert "password:" not in capsys.readouterr().out
    assert get_user_model().objects.count() == 1
