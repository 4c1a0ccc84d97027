"""The restore drill and the restore: decrypt a checked set into a database, all or nothing.

Restores into PostgreSQL run in one transaction that checks every table's row count before
COMMIT, so a failure anywhere restores nothing; a SQLite image is checked in memory and then
renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from psycopg import sql

from ops import gpg, services
from ops.backups.database import Database, Tool, pg_tables, sqlite_counts
from ops.backups.manifest import checked_files, load_manifest
from ops.backups.runs import record_failure
from ops.backups.sets import DB_PART, LEGACY_FILES_PART, BackupSet, fsync_dir
from ops.cli import Interrupted
from ops.gpg import BackupError, HashingReader, Sink, one_line
from ops.models import BackupRun


@dataclass
class RestoreResult:
    backup_set: BackupSet
    manifest: dict[str, Any]
    target: str

    @property
    def notes(self) -> list[str]:
        """What an old set held that was checked against its manifest but not restored."""
        return [
            f"{self.backup_set.path(part).name} matches the manifest and was not restored "
            "(an archive of the attachment directory from before attachments were stored "
            "in the database)"
            for part in self.manifest["files"]
            if part == LEGACY_FILES_PART
        ]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count_check_sql(counts: dict[str, int]) -> bytes:
    """A DO block that aborts the restore transaction unless every table's rows match."""
    tag = f"$ts_{secrets.token_hex(6)}$"
    lines = [
        f"DO {tag} DECLARE found bigint; BEGIN",
        "SELECT count(*) INTO found FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%';",
        f"IF found <> {len(counts)} THEN RAISE EXCEPTION 'restored database has % tables, the"
        f" manifest lists {len(counts)}', found; END IF;",
    ]
    for table, expected in sorted(counts.items()):
        schema, _, name = table.rpartition(".")
        qualified = f"{_quote_ident(schema or 'public')}.{_quote_ident(name)}"
        lines.append(
            # Identifiers are quoted and checked against TABLE_RE; counts are ints.
            f"SELECT count(*) INTO found FROM {qualified}; IF found <> {int(expected)} THEN"  # noqa: S608
            f" RAISE EXCEPTION 'row count mismatch in %: expected {int(expected)}, found %',"
            f" {_quote_literal(table)}, found; END IF;"
        )
    lines.append(f"END {tag};")
    return ("\n".join(lines) + "\n").encode()


REPLACE_SCHEMAS_SQL = b"""
DO $ts_replace$ DECLARE s text; BEGIN
FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public')
  AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%' LOOP
  EXECUTE format('DROP SCHEMA %I CASCADE', s);
END LOOP; END $ts_replace$;
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
"""


def _pg_table_count(database: Database) -> int:
    with database.connect(autocommit=True) as conn, conn.cursor() as cursor:
        return len(pg_tables(cursor))


def _restore_postgres(
    ring: gpg.Keyring,
    backup_set: BackupSet,
    manifest: dict[str, Any],
    source: IO[bytes],
    target: Database,
    *,
    force: bool,
    secret: str | None,
) -> None:
    """Decrypt → pg_restore (to SQL) → psql, in ONE transaction committed only when all is well.

    The transaction is opened before the first byte and closed only after gpg confirmed the
    file's integrity (MDC), the ciphertext's sha256 matched the manifest, pg_restore
    succeeded and every table's row count matched; otherwise psql is killed and PostgreSQL
    rolls everything back.
    """
    existing = _pg_table_count(target)
    if existing and not force:
        raise BackupError(
            f"{target.label} is not empty ({existing} tables): restore into an empty database, "
            "or pass --force to replace its contents"
        )
    args, env = target.pg_tool(
        "psql", ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1"]
    )
    psql = Tool(args, env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    restore: Tool | None = None
    try:
        psql.proc.stdin.write(b"BEGIN;\n" + (REPLACE_SCHEMAS_SQL if force else b""))
        psql.proc.stdin.flush()
        restore = Tool(
            ["pg_restore", "--no-owner", "--no-privileges", "--file=-"],
            dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=psql.proc.stdin,
        )
        path = backup_set.path(DB_PART)
        decrypt_error: BackupError | None = None
        reader = HashingReader(source)
        try:
            gpg.decrypt_stream(ring, reader, Sink(restore.proc.stdin.write), secret=secret)
        except BackupError as exc:
            decrypt_error = exc
        with contextlib.suppress(OSError):
            restore.proc.stdin.close()
        restore_status = restore.proc.wait()
        if psql.proc.poll() is not None:
            raise BackupError(f"restore failed, nothing was restored: {psql.error()}")
        if decrypt_error is not None:
            raise decrypt_error
        if restore_status != 0:
            raise BackupError(f"pg_restore failed, nothing was restored: {restore.error()}")
        if reader.sha256.hexdigest() != manifest["files"][DB_PART]["sha256"]:
            raise BackupError(f"{path.name} changed while it was being restored")
        psql.proc.stdin.write(_count_check_sql(manifest["row_counts"]) + b"COMMIT;\n")
        psql.proc.stdin.close()
        if psql.proc.wait() != 0:
            raise BackupError(f"restore failed, nothing was restored: {psql.error()}")
    except BrokenPipeError:
        raise BackupError(f"restore failed, nothing was restored: {psql.error()}") from None
    finally:
        # Killing psql before COMMIT drops its connection: PostgreSQL rolls back.
        if restore is not None:
            restore.close()
        with contextlib.suppress(OSError):
            psql.proc.stdin.close()
        psql.close()


def _decrypt_sqlite(
    ring: gpg.Keyring,
    backup_set: BackupSet,
    manifest: dict[str, Any],
    source: IO[bytes],
    secret: str | None,
) -> sqlite3.Connection:
    """Decrypt a SQLite image into memory and check its integrity and row counts."""
    path = backup_set.path(DB_PART)
    buffer = bytearray()
    reader = HashingReader(source)
    gpg.decrypt_stream(ring, reader, Sink(buffer.extend), secret=secret)
    if reader.sha256.hexdigest() != manifest["files"][DB_PART]["sha256"]:
        raise BackupError(f"{path.name} changed while it was being read")
    memory = sqlite3.connect(":memory:")
    try:
        memory.deserialize(bytes(buffer))
        status = memory.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise BackupError(f"the restored SQLite image fails its integrity check: {status}")
        counts = sqlite_counts(memory)
    except sqlite3.Error as exc:
        memory.close()
        raise BackupError(f"the decrypted data is not a SQLite database: {exc}") from None
    _compare_counts(manifest["row_counts"], counts, memory)
    return memory


def _compare_counts(
    expected: dict[str, int], found: dict[str, int], db: sqlite3.Connection
) -> None:
    if set(expected) != set(found):
        db.close()
        missing = sorted(set(expected) ^ set(found))
        raise BackupError(f"tables differ from the manifest: {', '.join(missing[:5])}")
    for table, count in sorted(expected.items()):
        if found[table] != count:
            db.close()
            raise BackupError(
                f"row count mismatch in {table}: expected {count}, found {found[table]}"
            )


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return not db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return False


def _write_sqlite(memory: sqlite3.Connection, target: Path, *, force: bool) -> None:
    """Write the checked image next to the target, then rename it into place atomically."""
    if not _sqlite_is_empty(target) and not force:
        raise BackupError(
            f"{target} is not empty: restore into a new file, or pass --force to replace it"
        )
    temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(temp)
        try:
            memory.backup(dest)
        finally:
            dest.close()
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, 0o600)
        # A journal left by the old file must not be replayed onto the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + suffix).unlink()
        os.replace(temp, target)
        fsync_dir(target.parent)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise BackupError(f"cannot write {target}: {gpg.describe(exc)}") from None


@contextlib.contextmanager
def _prepare(
    backup_set: BackupSet, ring: gpg.Keyring
) -> Iterator[tuple[dict[str, Any], dict[str, IO[bytes]], str | None]]:
    """Everything checked before touching a database: MAC, files, then key and passphrase."""
    manifest = load_manifest(backup_set)
    with checked_files(backup_set, manifest) as files:
        secret = gpg.passphrase()
        gpg.import_private_key(ring)
        yield manifest, files, secret


def _scratch_prefix(base: str) -> str:
    return settings.BACKUP_SCRATCH_DB_PREFIX or f"{base}_verify"


def scratch_database_name(base: str) -> str:
    name = f"{_scratch_prefix(base)}_{secrets.token_hex(4)}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise BackupError(
            f"scratch database name {name!r} is not valid: check BACKUP_SCRATCH_DB_PREFIX"
        )
    return name


def _scratch_lock_id(name: str) -> int:
    """The session advisory lock a drill holds on its scratch database while it runs."""
    return int.from_bytes(hashlib.sha256(b"ts-scratch:" + name.encode()).digest()[:8], signed=True)


def sweep_scratch_databases(server: Database) -> list[str]:
    """Drop the scratch databases of drills that died (SIGKILL, lost host): their lock is gone."""
    pattern = re.compile(rf"{re.escape(_scratch_prefix(server.name))}_[0-9a-f]{{8}}")
    dropped = []
    with server.connect(autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]
        for name in filter(pattern.fullmatch, names):
            lock = _scratch_lock_id(name)
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", [lock]).fetchone()[0]:
                continue  # a drill that is still running
            try:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                dropped.append(name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [lock])
    return dropped


@contextlib.contextmanager
def scratch_postgres(server: Database) -> Iterator[Database]:
    """A new empty database on the same server, dropped afterwards whatever happens.

    The drill holds an advisory lock named after it for as long as it lives, so a later drill
    can tell a dead drill's database (lock free: dropped) from a running one's.
    """
    sweep_scratch_databases(server)
    name = scratch_database_name(server.name)
    with server.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_scratch_lock_id(name)])
        try:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        except psycopg.Error as exc:
            raise BackupError(
                f"cannot create the scratch database {name}: {one_line(str(exc))}"
            ) from None
        try:
            yield Database("postgresql", {**server.settings_dict, "NAME": name})
        finally:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def verify_backup(backup_set: BackupSet) -> RestoreResult:
    """The restore drill: decrypt, check, restore into a scratch database, compare counts."""
    started = timezone.now()
    database = Database.from_settings(connection.settings_dict)
    try:
        with gpg.keyring() as ring, _prepare(backup_set, ring) as (manifest, files, secret):
            if manifest["engine"] == "postgresql":
                server = database if database.engine == "postgresql" else None
                if server is None:
                    raise BackupError(
                        "this is a PostgreSQL backup: run verifybackup with DATABASE_URL set "
                        "to a PostgreSQL server for the scratch database"
                    )
                with scratch_postgres(server) as scratch:
                    _restore_postgres(
                        ring,
                        backup_set,
                        manifest,
                        files[DB_PART],
                        scratch,
                        force=False,
                        secret=secret,
                    )
                target = "a scratch database (dropped)"
            else:
                _decrypt_sqlite(ring, backup_set, manifest, files[DB_PART], secret).close()
                target = "an in-memory database"
    except BackupError as exc:
        record_failure(BackupRun.Kind.VERIFY, backup_set.base, started, database.engine, exc)
        raise
    except Interrupted as exc:
        stopped = BackupError(f"interrupted by {exc}")
        record_failure(BackupRun.Kind.VERIFY, backup_set.base, started, database.engine, stopped)
        raise
    services.backup_run_record(
        kind=BackupRun.Kind.VERIFY,
        name=backup_set.base,
        started_at=started,
        ok=True,
        engine=manifest["engine"],
        size=sum(info["size"] for info in manifest["files"].values()),
        details={"tables": len(manifest["row_counts"])},
    )
    return RestoreResult(backup_set, manifest, target)


def restore_backup(backup_set: BackupSet, url: str, *, force: bool = False) -> RestoreResult:
    """Restore a set into the database at ``url``."""
    started = timezone.now()
    target = Database.from_url(url)
    try:
        with gpg.keyring() as ring, _prepare(backup_set, ring) as (manifest, files, secret):
            if manifest["engine"] != target.engine:
                raise BackupError(
                    f"this is a {manifest['engine']} backup; it cannot be restored into {target.engine}"
                )
            if target.engine == "postgresql":
                _restore_postgres(
                    ring, backup_set, manifest, files[DB_PART], target, force=force, secret=secret
                )
            else:
                memory = _decrypt_sqlite(ring, backup_set, manifest, files[DB_PART], secret)
                try:
                    _write_sqlite(memory, Path(target.name), force=force)
                finally:
                    memory.close()
    except BackupError as exc:
        record_failure(BackupRun.Kind.RESTORE, backup_set.base, started, "", exc)
        raise
    except Interrupted as exc:
        stopped = BackupError(f"interrupted by {exc}")
        record_failure(BackupRun.Kind.RESTORE, backup_set.base, started, "", stopped)
        raise
    # The configured database may be the one being rebuilt; the restore itself is done.
    with contextlib.suppress(DatabaseError):
        services.backup_run_record(
            kind=BackupRun.Kind.RESTORE,
            name=backup_set.base,
            started_at=started,
            ok=True,
            engine=target.engine,
            size=sum(info["size"] for info in manifest["files"].values()),
            details={"target": target.label},
        )
    return RestoreResult(backup_set, manifest, target.label)
