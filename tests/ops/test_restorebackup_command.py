"""manage.py restorebackup on PostgreSQL: a faithful round trip, or nothing at all."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.events import record_event
from audit.models import SecurityEvent
from ops.models import BackupRun
from tests.helpers import PNG, upload
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
from tests.ops.conftest import BASE_DIR, database_url, table_names
from tickets import services

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def seeded(agent, manager, ticket_a, ticket_b, agent_b):
    contact = services.contact_get_or_create(
        actor=agent, email="requester@example.org", name="Rita Requester", phone="+49 30 1234"
    )
    services.ticket_set_contact(actor=agent, ticket=ticket_a, contact=contact)
    services.comment_add(
        actor=agent, ticket=ticket_a, body="Secret internal note", is_internal=True
    )
    services.comment_add(actor=agent, ticket=ticket_a, body="We are on it.")
    services.attachment_add(actor=agent, ticket=ticket_a, upload=upload("pixel.png", PNG))
    record_event("login_failed", username="mallory", ip="203.0.113.9")
    record_event("login_succeeded", actor=agent, ip="198.51.100.7")
    return ticket_a


@pytest.fixture
def backup_set(backup_settings, seeded):
    call_command("backup", stdout=io.StringIO())
    directory = backup_settings.BACKUP_DIR
    return directory, only_set(directory)


def snapshot(url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "tests.ops.dbsnapshot"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def raw_rows(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()  # noqa: S608
            for table in table_names(url)
        }


def test_a_round_trip_restores_every_row_and_the_audit_chain_still_verifies(
    backup_set, empty_database
):
    directory, base = backup_set
    original_url = database_url(connection.settings_dict["NAME"])
    # Compare with the database as it was when backed up (the backup run itself adds rows).
    BackupRun.objects.all().delete()
    out = io.StringIO()

    call_command(
        "restorebackup",
        str(directory / f"{base}.manifest.json"),
        "--database",
        empty_database,
        stdout=out,
    )

    assert f"restored {base} into postgresql" in out.getvalue()
    restored, original = raw_rows(empty_database), raw_rows(original_url)
    assert restored.keys() == original.keys()
    for table in original:
        if table not in {"audit_securityevent", "ops_backuprun"}:
            assert restored[table] == original[table], table
    # Events written after the dump (backup_created, backup_restored) are the only difference.
    assert len(restored["audit_securityevent"]) == 2
    assert restored["audit_securityevent"] == original["audit_securityevent"][:2]
    decoded = snapshot(empty_database)
    assert decoded["__audit_chain__"]["ok"] is True
    assert decoded["__audit_chain__"]["checked"] == 2
    assert "[cannot decrypt]" not in json.dumps(decoded)
    descriptions = {row["description"] for row in decoded["tickets.TicketBody"]}
    assert descriptions == {"It smells of toner.", "Charged twice."}
    assert {row["body"] for row in decoded["tickets.Comment"]} == {
        "Secret internal note",
        "We are on it.",
    }
    assert decoded["tickets.Contact"][0]["email"] == "requester@example.org"


def test_it_refuses_a_database_that_is_not_empty(backup_set, empty_database):
    directory, base = backup_set
    manifest = str(directory / f"{base}.manifest.json")
    call_command(
        "restorebackup",
        manifest,
        "--database",
        empty_database,
        stdout=io.StringIO(),
    )

    with pytest.raises(CommandError, match=r"is not empty \(\d+ tables\).*--force"):
        call_command("restorebackup", manifest, "--database", empty_database)


def test_force_replaces_the_contents_of_a_database(backup_set, empty_database):
    directory, base = backup_set
    with psycopg.connect(empty_database) as conn:
        conn.execute("CREATE TABLE leftover (id int)")

    call_command(
        "restorebackup",
        str(directory / f"{base}.db.gpg"),
        "--database",
        empty_database,
        "--force",
        stdout=io.StringIO(),
    )

    tables = table_names(empty_database)
    assert "leftover" not in tables
    assert "tickets_ticket" in tables


def restore_fails(directory, base, url, match):
    with pytest.raises(CommandError, match=match) as failure:
        call_command(
            "restorebackup",
            str(directory / f"{base}.manifest.json"),
            "--database",
            url,
        )
    assert "\n" not in str(failure.value)
    assert table_names(url) == []  # nothing half-restored


def test_a_row_count_mismatch_restores_nothing(backup_set, empty_database):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    manifest["row_counts"]["tickets_comment"] = 99
    write_manifest(directory, base, manifest)
    restore_fails(directory, base, empty_database, "row count mismatch in tickets_comment")


def test_a_forged_set_restores_nothing_and_runs_no_sql(
    backup_settings, gpg_keys, empty_database, canary
):
    directory = backup_settings.BACKUP_DIR
    directory.mkdir()
    base = "ticketsystem-20300101T000000Z"
    forge_set(gpg_keys, directory, base, canary)
    restore_fails(directory, base, empty_database, r"is not authentic: its MAC does not match")
    assert not canary.exists()
    assert BackupRun.objects.get(kind=BackupRun.Kind.RESTORE).ok is False


def test_a_tampered_manifest_restores_nothing(backup_set, empty_database):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    manifest["app_version"] = "9.9.9"
    write_manifest(directory, base, manifest, sign=False)
    restore_fails(directory, base, empty_database, "is not authentic")


def test_a_file_swapped_under_a_signed_manifest_restores_nothing(
    backup_set, backup_settings, gpg_keys, empty_database, canary
):
    # The attacker replaces the dump (re-encrypted to the real key) but cannot re-sign.
    directory, base = backup_set
    signed = read_manifest(directory, base)
    forged = forge_set(gpg_keys, directory, base, canary)
    write_manifest(directory, base, signed, sign=False)
    assert signed["files"]["db.gpg"] != forged["files"]["db.gpg"]
    restore_fails(directory, base, empty_database, r"db\.gpg is truncated or damaged: \d+ bytes")
    assert not canary.exists()


def test_an_old_format_set_without_a_mac_is_refused(backup_set, empty_database):
    directory, base = backup_set
    manifest = read_manifest(directory, base)
    del manifest["mac"]
    manifest["format"] = 1
    write_manifest(directory, base, manifest, sign=False)
    restore_fails(directory, base, empty_database, "is not signed")


def test_a_truncated_stream_that_passes_the_checksum_restores_nothing(backup_set, empty_database):
    directory, base = backup_set
    path = directory / f"{base}.db.gpg"
    truncate(path, path.stat().st_size * 2 // 3)
    reseal_manifest(directory, base)
    restore_fails(
        directory, base, empty_database, "cannot decrypt: the file is damaged or was modified"
    )


def test_a_flipped_byte_that_passes_the_checksum_restores_nothing(backup_set, empty_database):
    directory, base = backup_set
    path = directory / f"{base}.db.gpg"
    flip_byte(path, path.stat().st_size - 30)  # in the last block: caught by gpg's MDC
    reseal_manifest(directory, base)
    restore_fails(
        directory, base, empty_database, "cannot decrypt: the file is damaged or was modified"
    )


def test_a_flipped_byte_is_caught_before_touching_the_database(backup_set, empty_database):
    directory, base = backup_set
    flip_byte(directory / f"{base}.db.gpg")
    restore_fails(directory, base, empty_database, "sha256 does not match")


def test_the_wrong_passphrase_restores_nothing(backup_set, backup_settings, empty_database):
    directory, base = backup_set
    backup_settings.BACKUP_GPG_PASSPHRASE = "guess"
    restore_fails(directory, base, empty_database, "wrong passphrase")


def test_a_postgresql_backup_cannot_go_into_sqlite(backup_set, tmp_path):
    directory, base = backup_set
    with pytest.raises(CommandError, match="postgresql backup; it cannot be restored into sqlite"):
        call_command(
            "restorebackup",
            str(directory / f"{base}.db.gpg"),
            "--database",
            f"sqlite:///{tmp_path}/x.sqlite3",
        )


def test_it_rejects_a_database_url_it_cannot_parse(backup_set):
    directory, base = backup_set
    with pytest.raises(
        CommandError,
        match=r"restore failed: backups support PostgreSQL and SQLite, not django.db.backends.mysql",
    ):
        call_command(
            "restorebackup", str(directory / f"{base}.db.gpg"), "--database", "mysql://x/y"
        )


def test_an_unreachable_target_fails_in_one_line_that_never_shows_its_password(backup_set):
    directory, base = backup_set
    with pytest.raises(CommandError) as failure:
        call_command(
            "restorebackup",
            str(directory / f"{base}.manifest.json"),
            "--database",
            "postgres://ops:hunter2-secret@127.0.0.1:1/target",
        )
    message = str(failure.value)
    assert message.startswith("restore failed: cannot connect to postgresql target on 127.0.0.1")
    assert "\n" not in message and "hunter2" not in message
    failed = BackupRun.objects.get(kind=BackupRun.Kind.RESTORE)
    assert failed.ok is False and "hunter2" not in failed.message
    assert "hunter2" not in json.dumps(
        list(SecurityEvent.objects.values_list("details", flat=True))
    )


def test_an_old_set_with_an_attachment_archive_restores_its_database(backup_set, empty_database):
    directory, base = backup_set
    add_legacy_files_part(directory, base)
    out = io.StringIO()

    call_command(
        "restorebackup",
        str(directory / f"{base}.manifest.json"),
        "--database",
        empty_database,
        stdout=out,
    )

    assert f"restored {base} into postgresql" in out.getvalue()
    assert f"; {base}.files.tar.gpg matches the manifest and was not restored" in out.getvalue()
    assert "tickets_attachment" in table_names(empty_database)


def test_an_old_set_with_a_damaged_attachment_archive_is_refused(backup_set, empty_database):
    directory, base = backup_set
    archive = add_legacy_files_part(directory, base)
    flip_byte(archive)

    with pytest.raises(CommandError, match=r"files\.tar\.gpg is damaged: sha256 does not match"):
        call_command("restorebackup", str(archive), "--database", empty_database)

    assert table_names(empty_database) == []
