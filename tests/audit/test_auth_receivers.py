"""Security events from real logins, logouts, failed logins and a real django-axes lockout."""

from __future__ import annotations

from django.conf import settings

from audit.models import SecurityEvent
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
    assert len(events("login_failed")) == settings.AXES_FAILURE_LIMIT
    # Even the right password is refused now, and the refusal is recorded again.
    response = client.post(
        "/accounts/login/", {"username": "dora", "password": PASSWORD}, REMOTE_ADDR=ip
    )
    assert response.status_code == 429
    assert not events("login_succeeded")
