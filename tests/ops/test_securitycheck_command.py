"""manage.py securitycheck: a pass/fail table, non-zero on any failure."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.events import record_event
from audit.models import SecurityEvent
from ops.models import BackupRun
from tests.ops.conftest import tampering


@pytest.fixture
def secure(backup_settings, tmp_path):
    """A configuration that should pass every check."""
    s = backup_settings
    s.SECURE_HSTS_SECONDS = 31_536_000
    s.SECURE_SSL_REDIRECT = True
    s.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    s.SECURE_HSTS_PRELOAD = True
    s.SESSION_COOKIE_SECURE = True
    s.CSRF_COOKIE_SECURE = True
    s.MONITOR_ALERT_EMAILS = ["oncall@example.org"]
    s.BACKUP_DIR.mkdir(mode=0o700)
    done = timezone.now() - timedelta(hours=1)
    BackupRun.objects.create(
        kind=BackupRun.Kind.BACKUP, name="x", started_at=done, finished_at=done, ok=True
    )
    record_event("login_succeeded", username="alice", ip="198.51.100.7")
    for path in (s.BACKUP_GPG_PRIVATE_KEY_FILE,):
        __import__("os").chmod(path, 0o600)
    return s


def run() -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("securitycheck", stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_it_passes_a_well_configured_installation(db, secure):
    output, error = run()
    assert error is None, output
    assert output.splitlines()[0].split() == ["RESULT", "CHECK", "DETAIL"]
    assert "all 10 security checks passed" in output
    assert "private key and passphrase decrypt a test message" in output
    assert "1 events verified" in output


def test_django_deploy_warnings_fail_it(db, secure):
    secure.SECURE_SSL_REDIRECT = False
    output, error = run()
    assert "security.W008" in output
    assert str(error) == "1 of 10 security checks failed: check --deploy"


def test_a_weak_secret_key_fails_it(db, secure):
    secure.SECRET_KEY = "changeme" * 10
    output, error = run()
    assert "SECRET_KEY is weak" in output and error is not None


def test_a_key_used_twice_fails_it(db, secure):
    secure.AUDIT_HMAC_KEY = secure.BLIND_INDEX_KEY
    output, error = run()
    assert "the same key is used for two purposes" in output and error is not None


def test_a_world_readable_secret_file_fails_it(db, secure, tmp_path, monkeypatch):
    leaked = tmp_path / "secret_key"
    leaked.write_text("x" * 60)
    leaked.chmod(0o644)
    monkeypatch.setenv("SECRET_KEY_FILE", str(leaked))
    output, error = run()
    assert "SECRET_KEY_FILE" in output and "readable by everyone" in output
    assert "secret files" in str(error)


def test_secrets_in_the_environment_fail_it_in_production(db, secure, monkeypatch):
    secure.PRODUCTION = True
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    output, error = run()
    assert "SECRET_KEY is in the environment (use SECRET_KEY_FILE)" in output
    assert "secret files" in str(error)


def test_a_backup_key_that_does_not_import_fails_it(db, secure, tmp_path):
    junk = tmp_path / "junk.asc"
    junk.write_text("not a key")
    secure.BACKUP_GPG_PUBLIC_KEY_FILE = str(junk)
    output, error = run()
    assert "holds no OpenPGP public key" in output
    assert "backup key" in str(error)


def test_a_wrong_restore_passphrase_fails_it(db, secure):
    secure.BACKUP_GPG_PASSPHRASE = "wrong"
    output, error = run()
    assert "wrong passphrase" in output and "restore key" in str(error)


def test_a_stale_backup_fails_it(db, secure):
    BackupRun.objects.update(finished_at=timezone.now() - timedelta(days=3))
    output, error = run()
    assert "last good backup 3.0 days ago" in output and "last backup" in str(error)


def test_a_broken_audit_chain_fails_it(db, secure):
    with tampering():
        SecurityEvent.objects.update(resource="tampered")
    output, error = run()
    assert "broken at event #1" in output and "audit chain" in str(error)


def test_no_alert_channel_fails_it(db, secure):
    secure.MONITOR_ALERT_EMAILS = []
    output, error = run()
    assert "FAIL    alert channel" in output and "alert channel" in str(error)


def test_the_search_index_key_is_checked_and_kept_apart(db, secure):
    secure.SEARCH_INDEX_KEY = secure.BLIND_INDEX_KEY
    output, error = run()
    assert "the same key is used for two purposes" in output and error is not None
    secure.SEARCH_INDEX_KEY = ""
    output, error = run()
    assert "SEARCH_INDEX_KEY (or SEARCH_INDEX_KEY_FILE) is not set" in output and error is not None
