"""/accounts/2fa/backup-codes/: regenerate backup codes (sudo mode)."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import BackupCodeDevice
from audit.models import SecurityEvent
from tests.accounts.conftest import PASSWORD, code_step, password_step
from tests.conftest import login


def test_it_shows_how_many_codes_are_left(client, staff, device, backup_codes):
    login(client, staff)
    response = client.get("/accounts/2fa/backup-codes/")
    assert response.status_code == 200
    assert b"10 of 10" in response.content
    for code in backup_codes:
        assert code.encode() not in response.content


def test_regenerating_needs_the_password_again(client, staff, device, backup_codes):
    login(client, staff)
    response = client.post("/accounts/2fa/backup-codes/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sudo/?next=%2Faccounts%2F2fa%2Fbackup-codes%2F"
    assert BackupCodeDevice.objects.get(user=staff).remaining() == 10
    assert not SecurityEvent.objects.filter(action="backup_codes_regenerated").exists()


def test_regenerating_replaces_every_old_code(
    client, staff, device, backup_codes, django_capture_on_commit_callbacks
):
    login(client, staff)
    client.post("/accounts/sudo/", {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/backup-codes/")
    assert response.status_code == 200
    new_codes = [
        c.decode() for c in re.findall(rb"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content)
    ]
    assert len(new_codes) == 10 and not set(new_codes) & set(backup_codes)
    assert SecurityEvent.objects.filter(action="backup_codes_regenerated", actor=staff).exists()
    assert "New backup codes were generated" in mail.outbox[-1].body
    assert not any(code in mail.outbox[-1].body for code in new_codes)

    # The old set no longer works; the new one does.
    fresh = client.__class__()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        password_step(fresh, "alice")
        assert code_step(fresh, backup_codes[0]).status_code == 400
        traveller.shift(timedelta(seconds=2))  # past the backoff after one failure
        assert code_step(fresh, new_codes[0]).status_code == 302


def test_the_codes_page_is_never_cached(client, staff, device, backup_codes):
    login(client, staff)
    client.post("/accounts/sudo/", {"password": PASSWORD})
    response = client.post("/accounts/2fa/backup-codes/")
    assert "no-store" in response["Cache-Control"]


def test_regenerating_lifts_the_backoff_of_the_old_codes(client, staff, device, backup_codes):
    BackupCodeDevice.objects.filter(user=staff).update(
        throttling_failure_count=7, throttling_failure_timestamp=timezone.now()
    )
    login(client, staff)
    client.post("/accounts/sudo/", {"password": PASSWORD})
    client.post("/accounts/2fa/backup-codes/")
    backup = BackupCodeDevice.objects.get(user=staff)
    assert backup.throttling_failure_count == 0
    assert backup.throttling_failure_timestamp is None
    assert backup.verify_is_allowed()[0]
