"""TOTPDevice, BackupCodeDevice and UserSession."""

from __future__ import annotations

import time

from django.db import connection
from django_otp.models import Device

from accounts.models import BackupCode, BackupCodeDevice, TOTPDevice, UserSession, VerifyResult
from tests.accounts.conftest import totp_code
from tests.conftest import login


def test_a_totp_code_is_accepted_once(device):
    now = time.time()
    code = totp_code(device, now)
    assert device.verify_token(code)
    assert not device.verify_token(code)
    assert device.last_result == VerifyResult.REPLAYED


def test_an_older_code_is_refused_after_a_newer_one(device):
    now = time.time()
    assert device.verify_token(totp_code(device, now))
    assert not device.verify_token(totp_code(device, now - 30))


def test_a_non_numeric_code_is_a_plain_failure(device):
    assert not device.verify_token("12ab56")
    assert device.last_result == VerifyResult.WRONG
    assert device.throttling_failure_count == 1


def test_an_undecryptable_secret_fails_closed(device):
    other = TOTPDevice.objects.create(
        user=device.user, name="other", confirmed=False, key=TOTPDevice.new_key()
    )
    with connection.cursor() as cursor:
        # Move the other row's ciphertext here: bound to another row, so it cannot decrypt.
        cursor.execute(
            "UPDATE accounts_totpdevice SET key = (SELECT key FROM accounts_totpdevice WHERE id = %s) "
            "WHERE id = %s",
            [other.pk, device.pk],
        )
    reloaded = TOTPDevice.objects.get(pk=device.pk)
    assert not reloaded.verify_token(totp_code(other))
    assert reloaded.last_result == VerifyResult.WRONG


def test_the_session_key_for_django_otp_resolves_to_the_device(device):
    found = Device.from_persistent_id(device.persistent_id)
    assert isinstance(found, TOTPDevice) and found.user_id == device.user_id
    backup = BackupCodeDevice.objects.create(user=device.user, name="Backup codes")
    assert Device.from_persistent_id(backup.persistent_id).pk == backup.pk


def test_backup_codes_are_stored_as_keyed_hashes_bound_to_their_set(staff):
    first = BackupCodeDevice.objects.create(user=staff, name="Backup codes")
    codes = first.replace_codes()
    assert len(codes) == len(set(codes)) == 10
    digests = set(BackupCode.objects.values_list("digest", flat=True))
    assert not any(
        code in digest or code.replace("-", "") in digest for code in codes for digest in digests
    )
    assert all(len(digest) == 64 for digest in digests)
    # The same code in another user's set hashes differently.
    second = BackupCodeDevice.objects.create(user=staff, name="other")
    assert first.digest(codes[0]) != second.digest(codes[0])


def test_a_backup_code_works_once_in_any_spelling(staff):
    backup = BackupCodeDevice.objects.create(user=staff, name="Backup codes")
    code = backup.replace_codes()[0]
    assert backup.verify_token(f"  {code.upper()} ")
    assert not backup.verify_token(code.replace("-", ""))
    assert backup.last_result == VerifyResult.REPLAYED
    assert backup.remaining() == 9


def test_the_session_row_mirrors_the_session(client, staff, device):
    login(client, staff)
    row = UserSession.objects.get(session_key=client.session.session_key)
    assert row.user_id == staff.pk
    assert len(row.sid) == 32
    assert row.signed_in_at is not None and row.last_activity is not None
    assert str(row.ip) == "127.0.0.1"
    assert row.get_decoded()["_auth_user_id"] == str(staff.pk)


def test_clearsessions_removes_expired_rows(client, staff, device):
    from django.core.management import call_command

    login(client, staff)
    UserSession.objects.update(expire_date="2000-01-01T00:00:00Z")
    call_command("clearsessions")
    assert not UserSession.objects.exists()
