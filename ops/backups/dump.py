"""Making a backup set: dump the database straight into gpg, sign the manifest, then prune.

Plaintext never touches the disk on the backup side.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.models import SecurityEvent
from ops import gpg, services
from ops.audit_anchors import STATE_KEY as AUDIT_HEAD
from ops.backups.database import (
    Database,
    Tool,
    applied_migrations,
    backup_lock,
    pg_counts,
    sqlite_counts,
)
from ops.backups.manifest import MANIFEST_FORMAT, manifest_key, sign_manifest
from ops.backups.retention import prune
from ops.backups.runs import record_failure
from ops.backups.sets import (
    DB_PART,
    MANIFEST_PART,
    STAMP_FORMAT,
    AtomicFile,
    BackupSet,
    fsync_dir,
    remove_stale_partials,
)
from ops.gpg import BackupError, Sink
from ops.models import BackupRun

SECURITY_EVENTS = SecurityEvent._meta.db_table


@dataclass
class BackupResult:
    backup_set: BackupSet
    manifest: dict[str, Any]
    pruned: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(info["size"] for info in self.manifest["files"].values())


def _audit_head(cursor: Any, counts: dict[str, int]) -> dict[str, Any] | None:
    """The audit chain's head in the dumped snapshot: an anchor kept outside the table."""
    if not counts.get(SECURITY_EVENTS):
        return None
    cursor.execute(f"SELECT seq, hash FROM {SECURITY_EVENTS} ORDER BY seq DESC LIMIT 1")  # noqa: S608
    seq, digest = cursor.fetchone()
    return {"seq": int(seq), "hash": str(digest)}


def _dump_postgres(database: Database, ring: gpg.Keyring, out: AtomicFile) -> dict[str, Any]:
    with database.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            # The dump and the row counts see the same snapshot, so they must agree.
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = pg_counts(cursor)
            per_app, latest = applied_migrations(cursor)
            head = _audit_head(cursor, counts)
        args, env = database.pg_tool(
            "pg_dump", ["--format=custom", f"--snapshot={snapshot}", "--no-password"]
        )
        dump = Tool(args, env, stdout=subprocess.PIPE)
        try:
            sink = Sink(out.write)
            try:
                gpg.encrypt_stream(ring, dump.proc.stdout, sink, compress=False)
            except BackupError:
                dump.kill()
                if dump.proc.returncode not in (0, -9):
                    raise BackupError(f"pg_dump failed: {dump.error()}") from None
                raise
            if dump.proc.wait() != 0:
                raise BackupError(f"pg_dump failed: {dump.error()}")
        finally:
            dump.proc.stdout.close()
            dump.close()
        conn.rollback()
    return {
        "row_counts": counts,
        "migrations": per_app,
        "latest_migration": latest,
        AUDIT_HEAD: head,
    }


def _dump_sqlite(database: Database, ring: gpg.Keyring, out: AtomicFile) -> dict[str, Any]:
    path = Path(database.name)
    if not path.exists():
        raise BackupError(f"the SQLite database {path} does not exist")
    memory = sqlite3.connect(":memory:")
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(memory)  # the online backup API: a consistent copy, in memory only
        finally:
            source.close()
        counts = sqlite_counts(memory)
        per_app, latest = applied_migrations(memory.cursor())
        head = _audit_head(memory.cursor(), counts)
        image = memory.serialize()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the SQLite database: {exc}") from None
    finally:
        memory.close()
    gpg.encrypt_stream(ring, gpg.BytesReader(image), Sink(out.write), compress=True)
    return {
        "row_counts": counts,
        "migrations": per_app,
        "latest_migration": latest,
        AUDIT_HEAD: head,
    }


def create_backup(*, keep_days: int | None = None) -> BackupResult:
    """Back up the database (attachments included) into one encrypted set, then prune."""
    started = timezone.now()
    database = Database.from_settings(connection.settings_dict)
    directory: Path = settings.BACKUP_DIR
    base = f"{settings.BACKUP_NAME}-{started.astimezone(UTC).strftime(STAMP_FORMAT)}"
    files: list[AtomicFile] = []
    done = False
    try:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", settings.BACKUP_NAME):
            raise BackupError("BACKUP_NAME may use letters, digits, '.', '_' and '-' only")
        manifest_key()  # no key, no backup: an unsigned set could never be used
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise BackupError(
                f"cannot create BACKUP_DIR {directory}: {gpg.describe(exc)}"
            ) from None
        with backup_lock(database), gpg.keyring() as ring:
            recipients = gpg.import_recipients(ring)
            backup_set = BackupSet(directory, base)
            if backup_set.existing_parts():
                raise BackupError(f"a backup named {base} already exists")
            remove_stale_partials(directory)
            try:
                db_file = AtomicFile(backup_set.path(DB_PART))
            except OSError as exc:
                raise BackupError(
                    f"cannot write to BACKUP_DIR {directory}: {gpg.describe(exc)}"
                ) from None
            files.append(db_file)
            dump = _dump_postgres if database.engine == "postgresql" else _dump_sqlite
            info = dump(database, ring, db_file)
            db_file.finish()
            manifest = {
                "format": MANIFEST_FORMAT,
                "name": base,
                "created_at": started.astimezone(UTC).isoformat(),
                "app_version": settings.VERSION,
                "engine": database.engine,
                "database": database.name
                if database.engine == "postgresql"
                else Path(database.name).name,
                **info,
                "files": {DB_PART: {"sha256": db_file.sha256.hexdigest(), "size": db_file.size}},
                "recipients": [key.fingerprint for key in recipients],
            }
            db_file.publish()
            manifest_file = AtomicFile(backup_set.path(MANIFEST_PART))
            files.append(manifest_file)
            manifest["duration_seconds"] = round((timezone.now() - started).total_seconds(), 3)
            manifest = sign_manifest(manifest)
            manifest_file.write(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
            manifest_file.publish()
            fsync_dir(directory)
            done = True
    except OSError as exc:
        error = BackupError(f"backup failed: {gpg.describe(exc)}")
        record_failure(BackupRun.Kind.BACKUP, base, started, database.engine, error)
        raise error from None
    except BackupError as exc:
        record_failure(BackupRun.Kind.BACKUP, base, started, database.engine, exc)
        raise
    finally:
        if not done:
            _discard(files)
    result = BackupResult(backup_set, manifest)
    services.backup_run_record(
        kind=BackupRun.Kind.BACKUP,
        name=base,
        started_at=started,
        ok=True,
        engine=database.engine,
        size=result.size,
        details={
            "tables": len(manifest["row_counts"]),
            "rows": sum(manifest["row_counts"].values()),
        },
    )
    result.pruned = prune(keep_days if keep_days is not None else settings.BACKUP_KEEP_DAYS)
    return result


def _discard(files: list[AtomicFile]) -> None:
    """Remove what a failed run left: partial files, and parts renamed before the manifest."""
    for item in files:
        item.abort()
    if not any(f.final.name.endswith(MANIFEST_PART) and f.final.exists() for f in files):
        for item in files:
            with contextlib.suppress(FileNotFoundError):
                item.final.unlink()
