"""Security events from real logins, logouts, failed logins and a real django-axes lockout."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from audit.models import FailureTally, SecurityEvent
from audit.tally import failure_count, record_repeated_failure
from tests.conftest import login, make_user

PASSWORD = "correct horse battery staple 42"


def events(action: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(action=action).order_by("seq"))


def staff_with_password(username: str = "dora"):
    user = make_user(username, "agent")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def test_a_login_records_login_succeeded(client, db):
    user = staff_with_password()
    login(client, user)
    [event] = events("login_succeeded")
    assert event.actor == user and event.resource == f"user:{user.pk}"


def test_a_wrong_password_records_login_failed_with_the_username_and_ip(client, db):
    staff_with_password()
    response = client.post(
        "/accounts/login/",
        {"username": "dora", "password": "Wrong-Guess-Kestrel"},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code in (200, 400)
    [event] = events("login_failed")
    assert (event.actor, event.actor_username, event.ip) == (None, "dora", "198.51.100.20")
    assert event.request_id == response["X-Request-ID"]
    row = str(SecurityEvent.objects.filter(pk=event.pk).values().get())
    assert "Wrong-Guess-Kestrel" not in row and "*****" not in row


def test_an_unknown_username_is_recorded_escaped_in_the_log(
    client, db, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("INFO", logger="ticketsystem.security")
    hostile = 'ghost" ip=6.6.6.6'
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/login/", {"username": hostile, "password": "x"}, REMOTE_ADDR="198.51.100.21"
        )
    [event] = events("login_failed")
    assert event.actor_username == hostile
    assert "ip=198.51.100.21" in caplog.text and "ip=6.6.6.6" not in caplog.text


def test_logging_out_records_logout(client, db):
    user = staff_with_password()
    login(client, user)
    response = client.post("/accounts/logout/")
    assert response.status_code in (200, 302)
    [event] = events("logout")
    assert event.actor == user


def test_repeated_failures_lock_out_through_axes_and_record_locked_out(client, db):
    staff_with_password()
    ip = "198.51.100.30"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/accounts/login/", {"username": "dora", "password": "nope"}, REMOTE_ADDR=ip
        )
    assert response.status_code == 429  # axes' lockout answer
    [event] = events("locked_out")
    assert (event.actor_username, event.ip) == ("dora", ip)
    # Chained once a minute, counted in between (tests for the flood below).
    assert failure_count("login_failed", timezone.now() - timedelta(minutes=1)) == (
        settings.AXES_FAILURE_LIMIT
    )
    # Even the right password is refused now, and the refusal is recorded again.
    response = client.post(
        "/accounts/login/", {"username": "dora", "password": PASSWORD}, REMOTE_ADDR=ip
    )
    assert response.status_code == 429
    assert not events("login_succeeded")


def test_a_flood_of_identical_failures_is_chained_once_a_minute_and_counted(
    client, db, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("INFO", logger="ticketsystem.security")
    staff_with_password()
    ip = "198.51.100.31"
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(settings.AXES_FAILURE_LIMIT + 10):
            response = client.post(
                "/accounts/login/", {"username": "dora", "password": "nope"}, REMOTE_ADDR=ip
            )
    assert response.status_code == 429  # the lockout still holds
    [failed] = events("login_failed")
    [locked] = events("locked_out")
    tally = FailureTally.objects.get(action="login_failed", username="dora", ip=ip)
    assert tally.seq == failed.seq
    assert (
        failure_count("login_failed", timezone.now() - timedelta(minutes=1))
        == (FailureTally.objects.filter(action="login_failed").aggregate(n=Sum("count"))["n"])
        >= settings.AXES_FAILURE_LIMIT + 10
    )
    assert failure_count("locked_out", timezone.now() - timedelta(minutes=1)) >= 10
    # Every failure still writes its log line: fail2ban counts them.
    lines = [r.getMessage() for r in caplog.records if "action=login_failed" in r.getMessage()]
    assert len(lines) == tally.count
    assert lines[-1].endswith(f"seq={failed.seq} repeat={tally.count}")
    assert locked.seq != failed.seq


def test_another_username_or_address_is_chained_on_its_own(db):
    record_repeated_failure("login_failed", username="dora", ip="198.51.100.40")
    record_repeated_failure("login_failed", username="dora", ip="198.51.100.40")
    record_repeated_failure("login_failed", username="dora", ip="198.51.100.41")
    record_repeated_failure("login_failed", username="erin", ip="198.51.100.40")
    assert len(events("login_failed")) == 3
