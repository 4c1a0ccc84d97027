"""Login rate limiting (django-axes): failures per username + client IP lock that pair."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django.utils import timezone

from accounts.login_state import PENDING
from tests.accounts.conftest import PASSWORD, code_step, password_step, totp_code

WRONG = "wrong-password-123"


def fail(client: Client, times: int, username: str = "alice", **extra) -> list[int]:
    return [password_step(client, username, WRONG, **extra).status_code for _ in range(times)]


def test_the_fifth_failure_locks_the_pair_with_429_and_retry_after(client, staff, device):
    assert fail(client, 4) == [400] * 4
    response = password_step(client, "alice", WRONG)
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert b"Too many failed attempts" in response.content
    assert b"about 15 minutes" in response.content


def test_the_right_password_fails_during_a_lockout(client, staff, device):
    fail(client, 5)
    response = password_step(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert PENDING not in client.session


def test_the_lockout_ends_after_fifteen_minutes(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        fail(client, 5)
        traveller.shift(timedelta(minutes=14))
        response = password_step(client, "alice", PASSWORD)
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 15 * 60
        # That attempt restarted the wait; 15 quiet minutes later the pair may try again.
        traveller.shift(timedelta(minutes=15, seconds=1))
        assert password_step(client, "alice", PASSWORD).status_code == 302


def test_failures_spread_over_more_than_fifteen_minutes_do_not_add_up(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        fail(client, 4)
        traveller.shift(timedelta(minutes=16))
        assert fail(client, 4) == [400] * 4


def test_another_ip_is_not_locked_out(client, staff, device):
    fail(client, 5)
    elsewhere = Client(REMOTE_ADDR="203.0.113.50")
    assert password_step(elsewhere, "alice", PASSWORD).status_code == 302


def test_rotating_x_forwarded_for_from_a_direct_client_does_not_reset_the_count(
    client, staff, device
):
    for n in range(4):
        response = password_step(client, "alice", WRONG, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 400
    response = password_step(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert response.status_code == 302  # not locked yet: the fifth attempt was right
    fail(client, 1, HTTP_X_FORWARDED_FOR="192.0.2.1")
    response = password_step(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.2")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_only_the_address_it_added_counts(client, staff, device):
    # nginx appends the peer address; whatever the client sent before it is ignored.
    for n in range(5):
        spoofed = f"10.9.9.{n}, 203.0.113.7"
        password_step(client, "alice", WRONG, HTTP_X_FORWARDED_FOR=spoofed)
    response = password_step(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert response.status_code == 429
    other = password_step(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_empty_usernames_count_but_lock_out_nobody_else(client, staff, device):
    statuses = [
        client.post("/accounts/login/", {"username": "", "password": ""}).status_code
        for _ in range(5)
    ]
    assert statuses == [400] * 4 + [429]
    assert AccessAttempt.objects.get().username == ""
    assert password_step(client, "alice", PASSWORD).status_code == 302


def test_unknown_usernames_count_too(client, staff, device):
    assert fail(client, 5, username="mallory")[-1] == 429
    assert password_step(client, "mallory", WRONG).status_code == 429
    assert password_step(client, "alice", PASSWORD).status_code == 302


def test_changing_the_case_of_a_username_does_not_get_more_attempts(client, staff, device):
    for name in ["alice", "Alice", "ALICE", " alice", "aLiCe"]:
        response = password_step(client, name, WRONG)
    assert response.status_code == 429
    assert password_step(client, "alice", PASSWORD).status_code == 429


def test_a_full_login_clears_earlier_failures(client, staff, device):
    fail(client, 4)
    password_step(client, "alice", PASSWORD)
    assert code_step(client, totp_code(device)).status_code == 302
    client.post("/accounts/logout/")
    assert fail(client, 4) == [400] * 4


def test_the_password_alone_does_not_clear_failures(client, staff, device):
    fail(client, 4)
    assert password_step(client, "alice", PASSWORD).status_code == 302
    assert password_step(client, "alice", WRONG).status_code == 429


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_limit_is_configurable(client, staff, device):
    assert fail(client, 3) == [400, 400, 429]


def test_a_nul_in_the_user_agent_cannot_dodge_the_count(client, staff, device):
    # A NUL header used to make every failure a 500 that axes never recorded: unlimited
    # guesses. Now the header is cleaned first and the failures count like any other.
    nul = {"HTTP_USER_AGENT": "curl\x00", "HTTP_ACCEPT": "*/*\x00"}
    assert fail(client, 5, **nul) == [400] * 4 + [429]
    assert password_step(client, "alice", PASSWORD, **nul).status_code == 429
    assert AccessAttempt.objects.get().user_agent == "curl "


def test_an_ipv6_client_counts_as_its_slash_64(client, staff, device):
    # Rotating through the addresses of one /64 (what one host usually holds) gains nothing.
    for n in range(5):
        password_step(Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}"), "alice", WRONG)
    same_prefix = Client(REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff")
    response = password_step(same_prefix, "alice", PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::"}
    next_prefix = Client(REMOTE_ADDR="2001:db8:1:3::1")
    assert password_step(next_prefix, "alice", PASSWORD).status_code == 302


def test_unlock_with_an_ipv6_address_lifts_its_slash_64(client, staff, device):
    from django.core.management import call_command

    for _ in range(5):
        password_step(Client(REMOTE_ADDR="2001:db8:1:2::7"), "alice", WRONG)
    call_command("unlock", "alice", "--ip", "2001:db8:1:2::99")
    assert (
        password_step(Client(REMOTE_ADDR="2001:db8:1:2::7"), "alice", PASSWORD).status_code == 302
    )
