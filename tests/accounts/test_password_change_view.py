"""/accounts/password/: change your password; every other session ends."""

from __future__ import annotations

from django.core import mail
from django.test import Client

from audit.models import SecurityEvent
from tests.accounts.conftest import PASSWORD
from tests.conftest import login

NEW = "quiet-meadow-copper-917"


def change(client, old=PASSWORD, new1=NEW, new2=NEW):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new1, "new_password2": new2},
    )


def test_it_changes_the_password_and_ends_every_other_session(
    client, staff, device, django_capture_on_commit_callbacks
):
    other = Client()
    login(other, staff)
    login(client, staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = change(client)
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW)
    assert client.get("/dashboard/").status_code == 200
    assert other.get("/dashboard/").status_code == 302
    event = SecurityEvent.objects.get(action="password_changed")
    assert event.details == {"sessions_ended": 1}
    assert NEW not in str(event.details)
    assert mail.outbox[-1].to == ["alice@example.org"]
    assert NEW not in mail.outbox[-1].body


def test_it_needs_the_current_password(client, staff, device):
    login(client, staff)
    response = change(client, old="not-my-password-123")
    assert response.status_code == 400
    assert b"Your old password was entered incorrectly" in response.content
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_it_applies_the_password_policy(client, staff, device):
    login(client, staff)
    cases = {
        "short-pw-1": b"at least 12 characters",
        "password1234": b"too common",
        "839274610385": b"entirely numeric",
        "alice-example-org": b"too similar",
        "x" * 129: b"at most 128 characters",
    }
    for password, message in cases.items():
        response = change(client, new1=password, new2=password)
        assert response.status_code == 400, password
        assert message in response.content, password
    assert change(client, new2=NEW + "x").status_code == 400
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_a_mistyped_current_password_leaves_no_password_in_the_lockout_records(
    client, staff, device
):
    from axes.models import AccessAttempt

    login(client, staff)
    response = change(client, old="violet-harbour-lantern-24")
    assert response.status_code == 400
    attempt = AccessAttempt.objects.get()
    stored = attempt.get_data + attempt.post_data
    for secret in ("violet-harbour-lantern-24", NEW):
        assert secret not in stored
