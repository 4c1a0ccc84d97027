"""backup, verifybackup and restorebackup on the SQLite default, run as cron would run them.

Each command runs in a subprocess with DATABASE_URL and REDIS_URL unset and DATA_DIR in a
temporary directory, so the project's real SQLite settings are exercised.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.backup_helpers import (
    flip_byte,
    only_set,
    read_manifest,
    reseal_manifest,
    truncate,
    write_manifest,
)
from tests.ops.conftest import BASE_DIR, manage, sqlite_env

SEED = """
from django.contrib.auth.models import Group
from tests.conftest import make_user
from tests.helpers import PNG, upload
from tickets import services
from tickets.models import Queue
from audit.events import record_event
q = Queue.objects.create(name="Alpha", slug="alpha")
u = make_user("alice", "agent"); q.members.add(u)
for i in range(5):
    t = services.ticket_create(actor=u, queue=q, subject=f"Case {i}", description=f"secret {i}")
    services.comment_add(actor=u, ticket=t, body="a reply")
services.attachment_add(actor=u, ticket=t, upload=upload("pixel.png", PNG))
record_event("login_failed", username="mallory", ip="203.0.113.9")
"""


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory, gpg_keys):
    """A migrated, seeded SQLite site (one attachment among its rows) and one backup."""
    data = tmp_path_factory.mktemp("sqlite-site")
    env = sqlite_env(data, gpg_keys)
    manage("migrate", "--noinput", env=env, check=True)
    manage("shell", "-c", SEED, env=env, check=True)
    result = manage("backup", env=env)
    assert result.returncode == 0, result.stderr
    return data, env


def fails(result: subprocess.CompletedProcess[str], match: str) -> None:
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("CommandError")]
    assert len(errors) == 1, result.stderr
    assert match in errors[0], errors[0]


def copy_backups(data, tmp_path):
    """A private copy of the site's backups to damage."""
    import shutil

    target = tmp_path / "backups"
    shutil.copytree(data / "backups", target)
    return target


def test_it_backs_up_the_sqlite_database_attachments_included(sqlite_site):
    data, _ = sqlite_site
    backups = data / "backups"
    base = only_set(backups)
    names = sorted(p.name for p in backups.iterdir() if not p.name.startswith("."))
    assert names == [f"{base}.db.gpg", f"{base}.manifest.json"]
    assert read_manifest(backups, base)["row_counts"]["tickets_attachment"] == 1
    assert b"SQLite format" not in (backups / f"{base}.db.gpg").read_bytes()


def test_the_drill_restores_into_memory_and_matches_counts(sqlite_site):
    _, env = sqlite_site
    result = manage("verifybackup", "--latest", env=env)
    assert result.returncode == 0, result.stderr
    assert "restored into an in-memory database" in result.stdout


def test_restore_writes_a_new_sqlite_file_with_the_same_rows(sqlite_site, tmp_path):
    data, env = sqlite_site
    target = tmp_path / "restored.sqlite3"
    base = only_set(data / "backups")
    result = manage(
        "restorebackup",
        str(data / "backups" / f"{base}.manifest.json"),
        "--database",
        f"sqlite:///{target}",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    restored = sqlite3.connect(target)
    original = sqlite3.connect(data / "ticketsystem.sqlite3")
    tables = ("tickets_ticket", "tickets_comment", "tickets_attachment", "audit_securityevent")
    for table in (*tables, "auth_user"):
        query = f"SELECT * FROM {table} ORDER BY 1"  # noqa: S608
        rows = restored.execute(query).fetchall()
        assert rows == original.execute(query).fetchall()[: len(rows)] and rows, table
    # A second restore onto the now non-empty file needs --force.
    again = manage(
        "restorebackup",
        str(data / "backups" / f"{base}.db.gpg"),
        "--database",
        f"sqlite:///{target}",
        env=env,
    )
    fails(again, "is not empty")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "is truncated or damaged"),
        ("flip", "sha256 does not match the manifest"),
        ("flip-resealed", "cannot decrypt: the file is damaged or was modified"),
        ("no-manifest", "manifest missing"),
        ("tampered", "is not authentic: its MAC does not match"),
    ],
)
def test_damaged_backups_are_refused_and_nothing_is_restored(
    sqlite_site, tmp_path, damage, message
):
    data, env = sqlite_site
    backups = copy_backups(data, tmp_path)
    base = only_set(backups)
    dump = backups / f"{base}.db.gpg"
    if damage == "truncate":
        truncate(dump, 100)
    elif damage.startswith("flip"):
        flip_byte(dump)
        if damage == "flip-resealed":
            reseal_manifest(backups, base)
    elif damage == "tampered":
        manifest = read_manifest(backups, base)
        manifest["row_counts"]["tickets_ticket"] = 0
        write_manifest(backups, base, manifest, sign=False)
    else:
        (backups / f"{base}.manifest.json").unlink()
    target = tmp_path / "target.sqlite3"

    fails(manage("verifybackup", str(dump), env={**env, "BACKUP_DIR": str(backups)}), message)
    fails(
        manage(
            "restorebackup",
            str(dump),
            "--database",
            f"sqlite:///{target}",
            env=env,
        ),
        message,
    )
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


@pytest.mark.parametrize(
    ("variable", "key", "message"),
    [
        ("BACKUP_GPG_PRIVATE_KEY_FILE", "other_secret", "(wrong key)"),
        ("BACKUP_GPG_PASSPHRASE_FILE", "wrong_passphrase_file", "wrong passphrase"),
        ("BACKUP_GPG_PASSPHRASE_FILE", "newline_passphrase_file", "contains a line break"),
    ],
)
def test_key_problems_fail_with_one_line(sqlite_site, gpg_keys, tmp_path, variable, key, message):
    data, env = sqlite_site
    env = {**env, variable: str(getattr(gpg_keys, key))}
    target = tmp_path / "target.sqlite3"
    fails(manage("verifybackup", "--latest", env=env), message)
    fails(
        manage(
            "restorebackup",
            str(data / "backups" / f"{only_set(data / 'backups')}.db.gpg"),
            "--database",
            f"sqlite:///{target}",
            env=env,
        ),
        message,
    )
    assert not target.exists()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("database-under-a-file", "cannot write"),
        ("database-where-nothing-can-be-made", "cannot write"),
    ],
)
def test_a_restore_target_that_cannot_be_written_fails_with_one_line(
    sqlite_site, tmp_path, where, message
):
    data, env = sqlite_site
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    if where == "database-under-a-file":
        target = a_file / "target.sqlite3"
    else:
        target = Path("/proc/no-such-process/target.sqlite3")
    result = manage(
        "restorebackup",
        str(data / "backups" / f"{only_set(data / 'backups')}.manifest.json"),
        "--database",
        f"sqlite:///{target}",
        env=env,
    )
    fails(result, message)
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_backup_refuses_without_a_key_and_writes_nothing(sqlite_site, tmp_path):
    _, env = sqlite_site
    out = tmp_path / "out"
    env = {**env, "BACKUP_GPG_PUBLIC_KEY_FILE": "", "BACKUP_DIR": str(out)}
    fails(manage("backup", env=env), "no backup recipient key")
    assert [p.name for p in out.iterdir()] == [".backup.lock"]


def test_a_full_disk_fails_cleanly(sqlite_site, tmp_path):
    _, env = sqlite_site
    target = tmp_path / "small"
    target.mkdir()
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {target} && {sys.executable} manage.py backup; "
        f"rc=$?; echo LISTING >&2; ls -A {target} >&2; exit $rc"
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        cwd=BASE_DIR,
        env={**env, "BACKUP_DIR": str(target)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    fails(result, "No space left on device")
    assert result.stderr.split("LISTING\n", 1)[1].split() == [".backup.lock"]


def test_two_backups_cannot_run_at_once(sqlite_site):
    import fcntl

    data, env = sqlite_site
    with open(data / "backups" / ".backup.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        fails(manage("backup", env=env), "another backup is running")
