"""The per-username limit: many failures for one username from many addresses slow its
password checks down (a delay, 429 + Retry-After), never lock the account shut."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from accounts.lockout import record_username_failure, username_wait_seconds
from accounts.models import LoginFailureMinute
from tests.accounts.conftest import PASSWORD, code_step, password_step, totp_code

WRONG = "wrong-password-123"
LIMIT = override_settings(LOGIN_USERNAME_FAILURE_LIMIT=6, LOGIN_USERNAME_DELAY_SECONDS=60)


def from_address(n: int) -> Client:
    return Client(REMOTE_ADDR=f"198.51.100.{n}")


def spread_failures(count: int, username: str = "alice") -> list[int]:
    """Two failures from each of many addresses: below the per-address lockout (5)."""
    return [password_step(from_address(n // 2), username, WRONG).status_code for n in range(count)]


@LIMIT
def test_failures_from_many_addresses_add_up_to_a_delay(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False):
        assert spread_failures(6) == [400] * 6
        response = password_step(from_address(99), "alice", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert b"Your account is not locked" in response.content
    assert "_auth_user_id" not in client.session


@LIMIT
def test_after_the_delay_one_check_is_allowed_and_the_right_password_goes_on_to_2fa(staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        spread_failures(6)
        traveller.shift(timedelta(seconds=59))
        assert password_step(from_address(99), "alice", PASSWORD).status_code == 429
        traveller.shift(timedelta(seconds=1))
        legitimate = from_address(99)
        assert password_step(legitimate, "alice", PASSWORD).status_code == 302
        assert code_step(legitimate, totp_code(device)).status_code == 302


@LIMIT
def test_refused_attempts_neither_count_nor_restart_the_wait(staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        spread_failures(6)
        counted = sum(LoginFailureMinute.objects.values_list("failures", flat=True))
        for n in range(30):  # an attacker hammering during the delay
            traveller.shift(timedelta(seconds=1))
            assert password_step(from_address(50 + n), "alice", WRONG).status_code == 429
        assert sum(LoginFailureMinute.objects.values_list("failures", flat=True)) == counted
        traveller.shift(timedelta(seconds=30))
        assert password_step(from_address(99), "alice", PASSWORD).status_code == 302


@LIMIT
def test_a_checked_failure_during_the_slow_phase_starts_the_next_wait(staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        spread_failures(6)
        traveller.shift(timedelta(seconds=60))
        assert password_step(from_address(70), "alice", WRONG).status_code == 400
        assert password_step(from_address(71), "alice", PASSWORD).status_code == 429


@LIMIT
def test_the_window_is_one_hour(staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        spread_failures(5)
        traveller.shift(timedelta(minutes=61))
        assert spread_failures(5) == [400] * 5
        assert username_wait_seconds("alice") is None
        assert (
            LoginFailureMinute.objects.filter(
                minute__lt=timezone.now() - timedelta(hours=1)
            ).count()
            == 0
        )  # old minutes are deleted as new failures arrive


@LIMIT
def test_other_usernames_are_not_slowed(staff, device):
    spread_failures(6, username="bob")
    assert password_step(from_address(99), "alice", PASSWORD).status_code == 302


@LIMIT
def test_case_and_spaces_do_not_make_a_new_username(staff, device):
    for n, name in enumerate(["alice", "Alice", " ALICE", "aLiCe", "alice ", "ALICE"]):
        password_step(from_address(n), name, WRONG)
    assert password_step(from_address(99), "alice", PASSWORD).status_code == 429


def test_the_default_is_fifty_failures_an_hour_and_a_minute_apart(db):
    now = timezone.now()
    for _ in range(49):
        record_username_failure("carol", now)
    assert username_wait_seconds("carol", now) is None
    record_username_failure("carol", now)
    assert username_wait_seconds("carol", now) == 60
    assert username_wait_seconds("carol", now + timedelta(seconds=45)) == 15


def test_failures_in_one_minute_share_a_row(db):
    now = timezone.now()
    record_username_failure("dave", now)
    LoginFailureMinute.objects.filter(username="dave").update(failures=41)
    record_username_failure("dave", now)
    assert LoginFailureMinute.objects.get(username="dave").failures == 42
