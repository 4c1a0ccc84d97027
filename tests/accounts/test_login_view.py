"""/accounts/login/: the password step."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import override_settings
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.login_state import PENDING
from tests.accounts.conftest import PASSWORD, code_step, password_step, totp_code


def test_it_shows_the_login_form(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_it_rejects_a_wrong_password_with_one_message_for_every_cause(client, staff, device):
    wrong = password_step(client, "alice", "not-the-password-at-all")
    unknown = password_step(client, "nobody-here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert b"Please enter a correct username and password" in wrong.content
    assert b"Please enter a correct username and password" in unknown.content
    assert PENDING not in client.session


def test_it_does_not_log_in_after_the_password_alone(client, staff, device):
    before = (
        client.get("/accounts/login/").cookies["sessionid"].value
        if "sessionid" in client.cookies
        else None
    )
    response = password_step(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    session = client.session
    assert SESSION_KEY not in session
    assert DEVICE_ID_SESSION_KEY not in session
    assert session[PENDING]["user_id"] == staff.pk
    assert session.session_key != before


def test_it_gives_a_new_session_id_at_each_step(client, staff, device):
    client.get("/accounts/login/")
    client.session.save()
    first = client.cookies["sessionid"].value
    password_step(client, "alice")
    second = client.cookies["sessionid"].value
    response = code_step(client, totp_code(device))
    third = client.cookies["sessionid"].value
    assert response.status_code == 302
    assert len({first, second, third}) == 3


def test_it_sends_a_user_without_an_authenticator_to_enrolment(client, staff):
    response = password_step(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/setup/"


def test_it_refuses_an_inactive_user_with_the_same_message(client, staff, device):
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    response = password_step(client, "alice")
    assert response.status_code == 400
    assert b"Please enter a correct username and password" in response.content


class RecordingHasher(Argon2PasswordHasher):
    """Argon2, noting the length of every password it is asked to check."""

    checked: ClassVar[list[int]] = []

    def verify(self, password: str, encoded: str) -> bool:
        self.checked.append(len(password))
        return super().verify(password, encoded)


@override_settings(PASSWORD_HASHERS=[f"{__name__}.RecordingHasher"])
def test_it_rejects_an_overlong_password_without_hashing_it(client, staff):
    RecordingHasher.checked.clear()
    response = password_step(client, "alice", "x" * 100_000)
    assert response.status_code == 400
    assert b"at most 128 characters" in response.content
    assert RecordingHasher.checked == [0]  # the attempt is counted with an empty password


def test_it_sends_a_fully_logged_in_user_on(client, staff, device):
    password_step(client, "alice")
    code_step(client, totp_code(device))
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_it_keeps_a_same_site_next_through_both_steps(client, staff, device):
    response = client.post(
        "/accounts/login/?next=/tickets/%3Fstatus%3Dopen",
        {"username": "alice", "password": PASSWORD},
    )
    assert response.status_code == 302
    response = code_step(client, totp_code(device))
    assert response["Location"] == "/tickets/?status=open"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/dashboard/",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\r\nSet-Cookie: x=1",
        "evil.example",
    ],
)
def test_it_ignores_a_next_that_leaves_the_site(client, staff, device, target):
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": target})
    response = code_step(client, totp_code(device))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_it_does_not_render_an_offsite_next_into_the_form(client, db):
    response = client.get("/accounts/login/?next=//evil.example")
    assert b"evil.example" not in response.content


def test_it_answers_an_empty_post_with_field_errors(client, db):
    response = client.post("/accounts/login/", {})
    assert response.status_code == 400
    assert b"This field is required" in response.content


def test_it_has_no_default_accounts(client, db):
    for username, password in [("admin", "admin"), ("admin", "password"), ("root", "root")]:
        assert password_step(client, username, password).status_code == 400
