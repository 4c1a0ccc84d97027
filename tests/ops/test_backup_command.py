"""manage.py backup on PostgreSQL (the SQLite default is in test_backup_sqlite.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from audit.models import SecurityEvent
from ops.backups.database import BACKUP_LOCK_ID
from ops.backups.manifest import manifest_mac
from ops.backups.retention import prune
from ops.models import BackupRun
from tests.helpers import PNG, upload
from tests.ops.backup_helpers import (
    add_legacy_files_part,
    copy_set,
    decrypt_head,
    forge_set,
    only_set,
    read_manifest,
    recipients,
)
from tests.ops.conftest import BASE_DIR, database_url
from tickets.services import attachment_add

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def visible_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != ".backup.lock")


def test_it_writes_an_encrypted_set_with_a_manifest(backup_settings, gpg_keys, ticket_a, tmp_path):
    call_command("backup", stdout=io.StringIO())

    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    assert visible_files(directory) == [f"{base}.db.gpg", f"{base}.manifest.json"]
    dump = directory / f"{base}.db.gpg"
    manifest = read_manifest(directory, base)
    assert manifest["files"]["db.gpg"] == {
        "sha256": hashlib.sha256(dump.read_bytes()).hexdigest(),
        "size": dump.stat().st_size,
    }
    assert manifest["engine"] == "postgresql"
    assert manifest["row_counts"]["tickets_ticket"] == 1
    assert manifest["row_counts"]["audit_securityevent"] == 0
    assert manifest["latest_migration"]["app"]
    applied = MigrationRecorder(connection).applied_migrations()
    assert manifest["migrations"]["tickets"] == max(n for a, n in applied if a == "tickets")
    assert manifest["app_version"] == "0.1.0"
    assert manifest["recipients"] == [gpg_keys.fingerprint]
    assert manifest["format"] == 2
    assert manifest["mac"] == manifest_mac(manifest)
    assert dump.stat().st_mode & 0o077 == 0
    # Encrypted to our key (the encryption subkey's id shows up), and inside is pg_dump's archive.
    assert "[GNUPG:] ENC_TO" in recipients(gpg_keys, dump)
    assert decrypt_head(gpg_keys, dump, tmp_path) == b"PGDMP"


def test_it_refuses_without_a_recipient_key(backup_settings):
    backup_settings.BACKUP_GPG_PUBLIC_KEY_FILE = ""
    with pytest.raises(
        CommandError, match=r"no backup recipient key.*refusing to write an unencrypted"
    ):
        call_command("backup")
    assert not any(p.suffix in {".gpg", ".json"} for p in backup_settings.BACKUP_DIR.iterdir())
    assert BackupRun.objects.get().ok is False


def test_the_manifest_mac_is_keyed_by_audit_hmac_key_under_its_own_label(backup_settings, settings):
    call_command("backup", stdout=io.StringIO())
    manifest = read_manifest(backup_settings.BACKUP_DIR, only_set(backup_settings.BACKUP_DIR))
    audit_key = base64.urlsafe_b64decode(settings.AUDIT_HMAC_KEY)
    key = hmac.new(audit_key, b"ticketsystem backup manifest mac v1", hashlib.sha256).digest()
    content = {k: v for k, v in manifest.items() if k != "mac"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    assert manifest["mac"] == hmac.new(key, canonical, hashlib.sha256).hexdigest()
    # Never the chain key itself: a manifest MAC is no valid audit chain HMAC and vice versa.
    assert manifest["mac"] != hmac.new(audit_key, canonical, hashlib.sha256).hexdigest()


def test_it_refuses_to_write_a_set_it_cannot_sign(backup_settings, settings):
    settings.AUDIT_HMAC_KEY = ""
    with pytest.raises(CommandError, match="cannot sign or check backup manifests: AUDIT_HMAC_KEY"):
        call_command("backup")
    assert not backup_settings.BACKUP_DIR.exists()
    assert BackupRun.objects.get().ok is False


def test_it_refuses_a_private_key_file_as_the_recipient(backup_settings, gpg_keys):
    backup_settings.BACKUP_GPG_PUBLIC_KEY_FILE = str(gpg_keys.secret)
    with pytest.raises(CommandError, match="contains a private key"):
        call_command("backup")


def test_it_refuses_a_pinned_fingerprint_that_is_not_in_the_key_file(backup_settings):
    backup_settings.BACKUP_GPG_RECIPIENTS = ["0" * 40]
    with pytest.raises(CommandError, match="BACKUP_GPG_RECIPIENTS names 0000"):
        call_command("backup")


def test_it_refuses_to_run_while_another_backup_holds_the_lock(backup_settings):
    with psycopg.connect(database_url(connection.settings_dict["NAME"])) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [BACKUP_LOCK_ID])
        with pytest.raises(CommandError, match="another backup is running"):
            call_command("backup")
    assert visible_files(backup_settings.BACKUP_DIR) == []


def test_attachments_are_backed_up_inside_the_database_dump(backup_settings, agent, ticket_a):
    attachment_add(actor=agent, ticket=ticket_a, upload=upload("pixel.png", PNG))

    call_command("backup", stdout=io.StringIO())

    base = only_set(backup_settings.BACKUP_DIR)
    manifest = read_manifest(backup_settings.BACKUP_DIR, base)
    assert manifest["row_counts"]["tickets_attachment"] == 1
    assert set(manifest["files"]) == {"db.gpg"} and "attachments" not in manifest


def test_retention_deletes_the_attachment_archive_of_an_old_set(backup_settings):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    old = (timezone.now() - timedelta(days=40)).strftime("ticketsystem-%Y%m%dT%H%M%SZ")
    copy_set(directory, base, old)
    add_legacy_files_part(directory, old)

    assert prune(30) == [old]

    assert visible_files(directory) == [f"{base}.db.gpg", f"{base}.manifest.json"]


def test_it_records_the_run_and_a_security_event(backup_settings):
    call_command("backup", stdout=io.StringIO())

    run = BackupRun.objects.get()
    assert run.ok and run.kind == BackupRun.Kind.BACKUP and run.size > 0
    assert run.name == only_set(backup_settings.BACKUP_DIR)
    event = SecurityEvent.objects.get(action="backup_created")
    assert event.resource == run.name


def test_a_full_disk_fails_with_one_line_and_leaves_no_file(backup_settings, gpg_keys, tmp_path):
    target = tmp_path / "small"
    target.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        "BACKUP_DIR": str(target),
        "BACKUP_GPG_PUBLIC_KEY_FILE": str(gpg_keys.public),
    }
    # A 16 KiB tmpfs in a private mount namespace: a real ENOSPC, gone when the command ends.
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {target} && "
        f"{os.sys.executable} manage.py backup; rc=$?; echo LISTING >&2; ls -A {target} >&2; exit $rc"
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("CommandError")]
    assert errors == ["CommandError: cannot write the encrypted backup: No space left on device"]
    listing = result.stderr.split("LISTING\n", 1)[1].split()
    assert listing == []  # no partial file, nothing that looks like a backup
    assert BackupRun.objects.get().ok is False


def test_retention_deletes_only_its_own_expired_sets(backup_settings):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    now = timezone.now()
    old = (now - timedelta(days=40)).strftime("%Y%m%dT%H%M%SZ")
    recent = (now - timedelta(days=5)).strftime("%Y%m%dT%H%M%SZ")
    copy_set(directory, base, f"ticketsystem-{old}")
    copy_set(directory, base, f"ticketsystem-{recent}")
    (directory / f"ticketsystem-{old.replace('T', 'T0')[:8]}T000000Z.db.gpg").write_bytes(b"orphan")
    foreign = ["othersite-20200101T000000Z.db.gpg", "notes.txt", "ticketsystem-old.db.gpg"]
    for name in foreign:
        (directory / name).write_bytes(b"not ours")

    deleted = prune(30)

    remaining = visible_files(directory)
    assert f"ticketsystem-{old}" in deleted
    assert not any(old in name for name in remaining)
    assert f"ticketsystem-{recent}.manifest.json" in remaining
    assert f"{base}.manifest.json" in remaining
    assert all(name in remaining for name in foreign)
    assert SecurityEvent.objects.filter(action="backup_deleted").exists()


def test_retention_never_deletes_the_newest_good_set(backup_settings):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)

    deleted = prune(1, now=timezone.now() + timedelta(days=400))

    assert deleted == []
    assert f"{base}.manifest.json" in visible_files(directory)


def test_a_forged_newer_set_does_not_count_as_the_newest_good_one(
    backup_settings, gpg_keys, canary
):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    forged = (timezone.now() + timedelta(days=1)).strftime("ticketsystem-%Y%m%dT%H%M%SZ")
    forge_set(gpg_keys, directory, forged, canary)

    deleted = prune(1, now=timezone.now() + timedelta(days=400))

    assert base not in deleted and f"{base}.manifest.json" in visible_files(directory)
    assert forged in deleted


def test_keep_days_must_be_positive(backup_settings):
    with pytest.raises(CommandError, match="--keep-days must be at least 1"):
        call_command("backup", "--keep-days", "0")


def test_a_retention_longer_than_the_calendar_keeps_every_set(backup_settings):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    old = (timezone.now() - timedelta(days=4000)).strftime("ticketsystem-%Y%m%dT%H%M%SZ")
    copy_set(directory, base, old)
    for path in directory.glob(f"{base}.*"):
        path.unlink()  # the next run may get the same name within the same second

    call_command("backup", "--keep-days", "9" * 40, stdout=io.StringIO())

    assert f"{old}.manifest.json" in visible_files(directory)
    assert BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP, ok=True).count() == 2


def test_each_manifest_anchors_the_audit_head_and_verifyaudit_compares_with_it(
    backup_settings, ticket_a, tmp_path
):
    from audit.events import record_event

    backup_settings.MONITOR_STATE_FILE = tmp_path / "no-monitor-state.json"
    record_event("login_succeeded", username="alice", ip="198.51.100.7")
    head = SecurityEvent.objects.order_by("-seq").first()
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    base = only_set(directory)
    assert read_manifest(directory, base)["audit_head"] == {"seq": head.seq, "hash": head.hash}
    out = io.StringIO()
    call_command("verifyaudit", stdout=out)
    assert f"head matches backup {base} (seq {head.seq})" in out.getvalue()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_securityevent")
    with pytest.raises(
        CommandError, match=rf"^audit chain BROKEN: the chain is empty but backup {base} recorded"
    ):
        call_command("verifyaudit", stdout=io.StringIO())
