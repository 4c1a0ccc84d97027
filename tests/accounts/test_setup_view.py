"""/accounts/2fa/setup/: forced enrolment after the password step, and replacing the app."""

from __future__ import annotations

import re
from base64 import b64decode
from datetime import timedelta

import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import BackupCode, BackupCodeDevice, TOTPDevice
from audit.models import SecurityEvent
from tests.accounts.conftest import password_step, totp_code
from tests.conftest import login
from ticketsystem.crypto import Token


def secret_on_page(response) -> str:
    match = re.search(rb'data-secret="([A-Z2-7]+)"', response.content)
    assert match, "the secret is shown as text"
    return match[1].decode()


def test_it_shows_a_qr_code_and_the_secret_as_text(client, staff):
    password_step(client, "alice")
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False
    assert secret_on_page(response) == device.base32_key
    qr = re.search(rb'src="data:image/svg\+xml;base64,([^"]+)"', response.content)
    svg = b64decode(qr[1])
    assert svg.startswith(b"<svg") and b"<path" in svg
    assert b"<script" not in response.content.split(b"</main>")[0]


def test_it_keeps_the_same_secret_when_the_page_is_reloaded(client, staff):
    password_step(client, "alice")
    first = secret_on_page(client.get("/accounts/2fa/setup/"))
    second = secret_on_page(client.get("/accounts/2fa/setup/"))
    assert first == second
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_it_stores_the_secret_encrypted(client, staff):
    password_step(client, "alice")
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=staff)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [device.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("$v1$")
    assert device.key not in stored
    assert device.base32_key not in stored


def test_it_enrols_with_a_valid_code_and_shows_backup_codes_once(
    client, staff, django_capture_on_commit_callbacks
):
    password_step(client, "alice")
    secret_page = client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/setup/", {"code": totp_code(device)})
    assert response.status_code == 200
    codes = re.findall(rb"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.content)
    assert len(codes) == 10
    assert secret_on_page(secret_page)
    device.refresh_from_db()
    assert device.confirmed
    session = client.session
    assert session[SESSION_KEY] == str(staff.pk)
    assert session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    # Stored as keyed hashes only.
    stored = list(BackupCode.objects.values_list("digest", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert code.decode() not in stored
        assert code.decode().replace("-", "") not in stored
    assert SecurityEvent.objects.filter(action="2fa_enrolled", actor=staff).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.org"]
    assert b"I saved my codes" in response.content
    assert client.get("/dashboard/").status_code == 200


def test_it_refuses_a_wrong_code_and_stays_unenrolled(client, staff):
    password_step(client, "alice")
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=staff)
    wrong = f"{(int(totp_code(device)) + 7) % 1_000_000:06d}"
    response = client.post("/accounts/2fa/setup/", {"code": wrong})
    assert response.status_code == 400
    assert b"That code is not valid" in response.content
    device.refresh_from_db()
    assert not device.confirmed
    assert SESSION_KEY not in client.session
    response = client.post("/accounts/2fa/setup/", {"code": "abc"})
    assert response.status_code == 400
    assert b"Enter the 6 digits" in response.content


def test_an_enrolled_user_cannot_enrol_another_device_with_the_password_alone(
    client, staff, device
):
    password_step(client, "alice")
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    response = client.post("/accounts/2fa/setup/", {"code": "123456"})
    assert response["Location"] == "/accounts/login/verify/"
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_the_enrolment_window_is_fifteen_minutes(client, staff):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        password_step(client, "alice")
        client.get("/accounts/2fa/setup/")
        traveller.shift(timedelta(minutes=14))
        assert client.get("/accounts/2fa/setup/").status_code == 200
        traveller.shift(timedelta(minutes=1, seconds=1))
        response = client.get("/accounts/2fa/setup/")
    assert response["Location"] == "/accounts/login/"


def test_replacing_the_app_needs_the_password_again(client, staff, device):
    login(client, staff)
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sudo/?next=%2Faccounts%2F2fa%2Fsetup%2F"


def test_replacing_the_app_ends_other_sessions_and_keeps_this_one(
    client, staff, device, backup_codes, django_capture_on_commit_callbacks
):
    other = client.__class__()
    login(other, staff)
    login(client, staff)
    client.post("/accounts/sudo/", {"password": "violet-harbour-lantern-42"})
    page = client.get("/accounts/2fa/setup/")
    assert b"Replace your authenticator app" in page.content
    new = TOTPDevice.objects.get(user=staff, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/setup/", {"code": totp_code(new)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    assert list(TOTPDevice.objects.filter(user=staff).values_list("pk", flat=True)) == [new.pk]
    assert client.session[DEVICE_ID_SESSION_KEY] == new.persistent_id
    assert client.get("/dashboard/").status_code == 200
    assert other.get("/dashboard/").status_code == 302
    # Backup codes stay valid when only the app is replaced.
    assert BackupCodeDevice.objects.get(user=staff).remaining() == 10
    event = SecurityEvent.objects.filter(action="2fa_enrolled").latest("seq")
    assert event.details["replaced"] is True
    assert "replaced" in mail.outbox[-1].body


def test_a_password_change_during_enrolment_ends_the_half_login(client, staff):
    # The old password must not let anyone finish enrolling their own authenticator.
    password_step(client, "alice")
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=staff)
    staff.set_password("quiet-meadow-copper-917")
    staff.save(update_fields=["password"])
    response = client.post("/accounts/2fa/setup/", {"code": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    device.refresh_from_db()
    assert not device.confirmed
    assert SESSION_KEY not in client.session


def test_it_replaces_a_pending_secret_that_no_longer_decrypts(client, staff):
    password_step(client, "alice")
    stale = secret_on_page(client.get("/accounts/2fa/setup/"))
    # The pending device was sealed under a key that has since been removed from the keyring.
    TOTPDevice.objects.filter(user=staff).update(key=Token("$v1$gone$" + "A" * 60))
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=staff)
    assert secret_on_page(response) == device.base32_key != stale
