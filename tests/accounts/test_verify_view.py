"""/accounts/login/verify/: the second step (authenticator code or backup code)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import session_policy
from accounts.models import BackupCodeDevice, UserSession
from audit.models import SecurityEvent
from tests.accounts.conftest import PASSWORD, code_step, password_step, totp_code


def actions():
    return list(SecurityEvent.objects.order_by("seq").values_list("action", flat=True))


def test_it_logs_in_with_the_current_code(client, staff, device):
    password_step(client, "alice")
    response = code_step(client, totp_code(device))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    session = client.session
    assert session[SESSION_KEY] == str(staff.pk)
    assert session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert session_policy.session_end_reason(session) is None
    assert client.get("/dashboard/").status_code == 200


def test_it_accepts_the_code_of_the_previous_time_step(client, staff, device):
    password_step(client, "alice")
    response = code_step(client, totp_code(device, at=time.time() - 30))
    assert response.status_code == 302


def test_it_rejects_a_wrong_code_and_records_it(client, staff, device):
    password_step(client, "alice")
    good = totp_code(device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = code_step(client, wrong)
    assert response.status_code == 400
    assert b"That code is not valid" in response.content
    assert SESSION_KEY not in client.session
    event = SecurityEvent.objects.get(action="otp_failed")
    assert event.actor_id == staff.pk
    assert event.details == {"method": "totp", "reason": "wrong", "failures": 1}
    assert wrong not in str(event.details)


def test_it_rejects_a_replayed_code(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False):
        code = totp_code(device)
        password_step(client, "alice")
        assert code_step(client, code).status_code == 302
        client.post("/accounts/logout/")
        password_step(client, "alice")
        response = code_step(client, code)
    assert response.status_code == 400
    assert SESSION_KEY not in client.session
    assert "otp_replayed" in actions()


def test_it_throttles_failed_codes_with_growing_delays(client, staff, device):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        password_step(client, "alice")
        code_step(client, "000000" if totp_code(device) != "000000" else "111111")
        # Within the 1 s backoff even the right code is refused, with a clear 429.
        response = code_step(client, totp_code(device))
        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        assert b"Wait 1 second, then try again." in response.content
        traveller.shift(timedelta(seconds=2))
        code_step(client, "999999" if totp_code(device) != "999999" else "888888")
        response = code_step(client, totp_code(device))
        assert response.status_code == 429
        assert response["Retry-After"] == "2"
        assert b"Wait 2 seconds, then try again." in response.content
        traveller.shift(timedelta(seconds=3))
        assert code_step(client, totp_code(device)).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_correct_password_does_not_reset_the_code_throttle(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(3):
            password_step(client, "alice")
            code_step(client, "000000" if totp_code(device) != "000000" else "111111")
        other = client.__class__()
        password_step(other, "alice")
        response = code_step(other, totp_code(device))
    assert response.status_code == 429
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1


def test_it_logs_in_with_a_backup_code_once(client, staff, device, backup_codes):
    mail.outbox.clear()
    password_step(client, "alice")
    response = code_step(client, backup_codes[0].upper().replace("-", " "))
    assert response.status_code == 302
    backup = BackupCodeDevice.objects.get(user=staff)
    assert client.session[DEVICE_ID_SESSION_KEY] == backup.persistent_id
    assert backup.remaining() == 9
    assert "backup_code_used" in actions()
    client.post("/accounts/logout/")
    password_step(client, "alice")
    response = code_step(client, backup_codes[0])
    assert response.status_code == 400
    assert actions()[-1] == "otp_replayed"


def test_it_warns_how_many_backup_codes_remain(
    client, staff, device, backup_codes, django_capture_on_commit_callbacks
):
    password_step(client, "alice")
    with django_capture_on_commit_callbacks(execute=True):
        response = code_step(client, backup_codes[3])
    page = client.get(response["Location"])
    assert b"9 of 10 remain" in page.content
    assert len(mail.outbox) == 1
    assert "backup code was used" in mail.outbox[0].body
    assert backup_codes[3] not in mail.outbox[0].body


def test_the_half_login_expires_after_five_minutes(client, staff, device):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        password_step(client, "alice")
        traveller.shift(timedelta(minutes=5, seconds=1))
        response = code_step(client, totp_code(device))
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/"
        assert SESSION_KEY not in client.session
        page = client.get("/accounts/login/")
    assert b"Your sign-in took too long" in page.content


def test_it_sends_visitors_without_a_password_step_to_the_login(client, db):
    response = client.get("/accounts/login/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/dashboard/",
        "/tickets/",
        "/tickets/new/",
        "/tickets/T-000001/",
        "/admin/",
        "/admin/auth/user/",
        "/accounts/sessions/",
        "/accounts/2fa/",
        "/accounts/2fa/backup-codes/",
        "/accounts/password/",
        "/accounts/sudo/",
        "/accounts/2fa/setup/",
    ],
)
def test_after_only_the_password_step_every_page_leads_to_the_code_step(
    client, staff, device, path
):
    password_step(client, "alice")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    # Following the redirects never shows anything but the code step.
    final = client.get(path, follow=True)
    assert final.redirect_chain[-1][0] == "/accounts/login/verify/"
    assert b"Two-factor authentication" in final.content


def test_after_only_the_password_step_posts_are_refused(client, staff, device, queue_a):
    password_step(client, "alice")
    response = client.post(
        "/tickets/new/", {"queue": queue_a.pk, "subject": "x", "description": "y"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    assert not queue_a.tickets.exists()


def test_a_password_change_after_the_password_step_ends_the_half_login(client, staff, device):
    # Someone holding the old password passed step one; the owner changes the password.
    password_step(client, "alice")
    staff.set_password("quiet-meadow-copper-917")
    staff.save(update_fields=["password"])
    response = code_step(client, totp_code(device))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/dashboard/").status_code == 302


def test_a_nul_in_the_user_agent_does_not_spoil_a_correct_login(client, staff, device):
    # The session row keeps the user agent for the sessions page and PostgreSQL refuses NUL
    # in text: the session could not be saved and the right code got a 400. Headers now have
    # NUL replaced before anything reads them (ticketsystem/middleware.py).
    nul = {"HTTP_USER_AGENT": "evil\x00agent"}
    assert password_step(client, "alice", PASSWORD, **nul).status_code == 302
    assert code_step(client, totp_code(device), **nul).status_code == 302
    assert UserSession.objects.get(user=staff).user_agent == "evil agent"
