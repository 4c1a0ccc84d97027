"""manage.py verifybackup (the restore drill) on PostgreSQL, with every bad input."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ops.models import BackupRun
from tests.ops.backup_helpers import (
    add_legacy_files_part,
    flip_byte,
    forge_set,
    only_set,
    read_manifest,
    reseal_manifest,
    truncate,
    write_manifest,
)
from tests.ops.conftest import scratch_databases

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def backup_set(backup_settings, ticket_a, ticket_b):
    call_command("backup", stdout=io.StringIO())
    return backup_settings.BACKUP_DIR, only_set(backup_settings.BACKUP_DIR)


def drill_fails(*args: str, match: str) -> None:
    with pytest.raises(CommandError, match=match) as failure:
        call_command("verifybackup", *args)
    assert "\n" not in str(failure.value)
    assert scratch_databases() == []  # the scratch database is always dropped
    assert BackupRun.objects.filter(kind=BackupRun.Kind.VERIFY).latest("id").ok is False


def test_it_restores_the_latest_backup_into_a_scratch_database_and_compares_counts(backup_set):
    out = io.StringIO()
    call_command("verifybackup", "--latest", stdout=out)

    directory, base = backup_set
    rows = sum(read_manifest(directory, base)["row_counts"].values())
    assert f"verified {base}: restored into a scratch database (dropped)" in out.getvalue()
    assert out.getvalue().endswith(f"{rows} rows match the manifest\n")
    assert scratch_databases() == []
    run = BackupRun.objects.get(kind=BackupRun.Kind.VERIFY)
    assert run.ok and run.name == base


def test_it_accepts_the_manifest_or_the_encrypted_file_as_argument(backup_set):
    directory, base = backup_set
    for name in (f"{base}.manifest.json", f"{base}.db.gpg"):
        out = io.StringIO()
        call_command("verifybackup", str(directory / name), stdout=out)
        assert out.getvalue().startswith(f"verified {base}: restored into a scratch database")
    assert BackupRun.objects.filter(kind=BackupRun.Kind.VERIFY, ok=True, name=base).count() == 2


def test_it_rejects_a_truncated_file(backup_set):
    directory, base = backup_set
    truncate(directory / f"{base}.db.gpg", 500)
    drill_fails("--latest", match="db.gpg is truncated or damaged: 500 bytes")


def test_it_rejects_a_flipped_byte(backup_set):
    directory, base = backup_set
    flip_byte(directory / f"{base}.db.gpg")
    drill_fails("--latest", match="sha256 does not match the manifest")


def test_gpg_catches_a_flipped_byte_even_with_a_matching_manifest(backup_set):
    directory, base = backup_set
    flip_byte(directory / f"{base}.db.gpg")
    reseal_manifest(directory, base)
    drill_fails("--latest", match="cannot decrypt: the file is damaged or was modified")


def test_an_old_set_with_an_attachment_archive_passes_and_says_it_was_not_restored(backup_set):
    directory, base = backup_set
    add_legacy_files_part(directory, base)
    out = io.StringIO()

    call_command("verifybackup", "--latest", stdout=out)

    assert f"verified {base}: restored into a scratch database (dropped)" in out.getvalue()
    assert f"; {base}.files.tar.gpg matches the manifest and was not restored" in out.getvalue()


def test_it_rejects_an_old_set_with_a_damaged_attachment_archive(backup_set):
    directory, base = backup_set
    flip_byte(add_legacy_files_part(directory, base))
    drill_fails("--latest", match="files.tar.gpg is damaged")


def test_it_rejects_the_wrong_key(backup_set, backup_settings, gpg_keys):
    backup_settings.BACKUP_GPG_PRIVATE_KEY_FILE = str(gpg_keys.other_secret)
    drill_fails("--latest", match=r"not encrypted for the key .* \(wrong key\)")


def test_it_rejects_the_wrong_passphrase(backup_set, backup_settings, caplog):
    backup_settings.BACKUP_GPG_PASSPHRASE = "not the passphrase"
    drill_fails("--latest", match="wrong passphrase")
    # The CommandError is the one line cron sees: python-gnupg's own warnings stay quiet.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("gnupg")] == []


def test_it_rejects_a_missing_passphrase(backup_set, backup_settings):
    backup_settings.BACKUP_GPG_PASSPHRASE = ""
    drill_fails("--latest", match="needs a passphrase")


def test_it_rejects_a_passphrase_containing_a_newline(backup_set, backup_settings):
    backup_settings.BACKUP_GPG_PASSPHRASE = "correct horse\nbattery staple"
    drill_fails("--latest", match="contains a line break")


def test_it_rejects_a_missing_manifest(backup_set):
    directory, base = backup_set
    (directory / f"{base}.manifest.json").unlink()
    drill_fails(str(directory / f"{base}.db.gpg"), match="manifest missing")


def test_it_rejects_a_manifest_whose_counts_do_not_match(backup_set):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    manifest["row_counts"]["tickets_ticket"] += 1
    write_manifest(directory, base, manifest)
    drill_fails("--latest", match="row count mismatch in tickets_ticket: expected 3, found 2")


def test_it_rejects_a_manifest_with_a_hostile_table_name(backup_set):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    manifest["row_counts"]['x"; DROP TABLE tickets_ticket; --'] = 1
    write_manifest(directory, base, manifest)
    drill_fails("--latest", match="manifest .* is invalid: bad row count entry")


def forged_base(hours: int = 1) -> str:
    """A set name newer than any real one: what --latest would pick by name alone."""
    return f"ticketsystem-{(timezone.now() + timedelta(hours=hours)).strftime('%Y%m%dT%H%M%SZ')}"


def test_a_forged_set_is_refused_before_any_sql_runs(backup_set, gpg_keys, canary):
    directory, _ = backup_set
    base = forged_base()
    forge_set(gpg_keys, directory, base, canary)

    drill_fails(
        str(directory / f"{base}.manifest.json"),
        match=r"manifest .* is not authentic: its MAC does not match .*refusing to use this",
    )
    assert not canary.exists()


def test_latest_skips_a_forged_newer_set_and_verifies_the_newest_authentic_one(
    backup_set, gpg_keys, canary
):
    directory, real = backup_set
    forged = forged_base()
    forge_set(gpg_keys, directory, forged, canary)
    out, err = io.StringIO(), io.StringIO()

    call_command("verifybackup", "--latest", stdout=out, stderr=err)

    assert f"verified {real}:" in out.getvalue()
    assert f"skipped {forged}: manifest {forged}.manifest.json is not authentic" in err.getvalue()
    assert not canary.exists()


def test_only_the_mac_stands_between_a_forged_set_and_the_database(backup_set, gpg_keys, canary):
    # The control for the tests above: with a valid MAC (which needs AUDIT_HMAC_KEY) the very
    # same forged set is restored, and its payload runs on the database server.
    directory, _ = backup_set
    base = forged_base()
    manifest = forge_set(gpg_keys, directory, base, canary)
    write_manifest(directory, base, manifest)  # signed with the real key

    call_command("verifybackup", str(directory / f"{base}.db.gpg"), stdout=io.StringIO())

    assert canary.exists()


def test_latest_refuses_when_no_set_is_authentic(backup_settings, gpg_keys, canary):
    directory = backup_settings.BACKUP_DIR
    directory.mkdir()
    base = forged_base()
    forge_set(gpg_keys, directory, base, canary)

    with pytest.raises(
        CommandError,
        match=rf"no authentic backup in {directory}: 1 refused, the newest {base}: manifest",
    ):
        call_command("verifybackup", "--latest")
    assert not canary.exists()


def test_it_refuses_a_tampered_manifest(backup_set):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    manifest["row_counts"]["tickets_ticket"] += 1
    write_manifest(directory, base, manifest, sign=False)
    drill_fails(str(directory / f"{base}.db.gpg"), match="is not authentic")


def test_it_refuses_an_old_format_set_without_a_mac(backup_set):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    del manifest["mac"]
    manifest["format"] = 1  # as written before backups were signed
    write_manifest(directory, base, manifest, sign=False)
    drill_fails(
        str(directory / f"{base}.manifest.json"),
        match=r"is not signed \(a set made before backups were signed, or not made by this",
    )


def test_it_refuses_a_manifest_that_is_not_even_json_it_can_parse(backup_set):
    directory, base = backup_set
    (directory / f"{base}.manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    drill_fails(str(directory / f"{base}.db.gpg"), match="is unreadable")


def test_it_needs_a_private_key(backup_set, backup_settings):
    backup_settings.BACKUP_GPG_PRIVATE_KEY_FILE = ""
    drill_fails("--latest", match="set BACKUP_GPG_PRIVATE_KEY_FILE")


def test_it_says_so_when_there_is_no_backup(backup_settings):
    with pytest.raises(CommandError, match="no backup with a manifest"):
        call_command("verifybackup", "--latest")


def test_it_rejects_a_file_that_is_not_a_backup(backup_settings, tmp_path):
    with pytest.raises(CommandError, match="is not a backup file name"):
        call_command("verifybackup", str(tmp_path / "passwords.txt"))


def test_a_set_signed_with_another_key_is_refused_and_the_chain_stays_unbroken(
    backup_set, settings
):
    """Run with another installation's (or a mistyped) AUDIT_HMAC_KEY: the set is refused,
    and nothing signed with that key is appended (it would break the chain for ever)."""
    from audit.chain import verify_chain
    from audit.models import SecurityEvent

    right_key = settings.AUDIT_HMAC_KEY
    directory, base = backup_set
    events = SecurityEvent.objects.count()
    runs = BackupRun.objects.count()
    settings.AUDIT_HMAC_KEY = "YW5vdGhlci1pbnN0YWxsYXRpb25zLWF1ZGl0LWtleSE="
    with pytest.raises(CommandError, match="AUDIT_HMAC_KEY is not the key of the installation"):
        call_command("verifybackup", str(directory / f"{base}.db.gpg"))
    assert scratch_databases() == []
    assert SecurityEvent.objects.count() == events
    assert BackupRun.objects.count() == runs
    settings.AUDIT_HMAC_KEY = right_key
    assert verify_chain().ok
