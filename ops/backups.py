"""Encrypted backups: create, verify (restore drill), restore, prune.

A backup *set* is two or three files in BACKUP_DIR sharing one base name
``<BACKUP_NAME>-<YYYYmmddTHHMMSSZ>``:

- ``.db.gpg`` — PostgreSQL: ``pg_dump --format=custom`` taken in an exported snapshot;
  SQLite: an online-backup image made in memory. Streamed straight into gpg.
- ``.files.tar.gpg`` — a tar of ATTACHMENT_DIR, when that directory exists.
- ``.manifest.json`` — written last: sha256 and size of each file, row counts per table
  (taken in the same snapshot as the dump), app version and latest migrations, and a MAC
  (HMAC-SHA256 over all of that, with a key derived from AUDIT_HMAC_KEY).

Sets are encrypted to a public key, so anyone who can write BACKUP_DIR could encrypt a dump
of their own: the MAC is what makes a set ours. verifybackup and restorebackup check it, and
then every file's sha256 through the file handles they go on to read, before gpg, pg_restore
or psql see a byte; a set without a valid MAC is refused.

Every file is written under a hidden ``.partial`` name, fsynced, and renamed only when the
whole set succeeded; the manifest's presence marks a complete set. Plaintext never touches
the disk on the backup side. Restores into PostgreSQL run in one transaction that checks
every table's row count before COMMIT, so a failure anywhere restores nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import dj_database_url
import psycopg
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.postgresql.client import DatabaseClient
from django.utils import timezone
from psycopg import sql

from ops import gpg
from ops.gpg import BackupError, HashingReader, Sink, one_line
from ticketsystem.crypto import KeyringError, parse_blind_index_key

# Format 2: signed (a "mac" entry). Format 1 sets carried no MAC and are refused.
MANIFEST_FORMAT = 2
# The manifest key is HMAC-SHA256(AUDIT_HMAC_KEY, this label): never the chain key itself.
MANIFEST_MAC_LABEL = b"ticketsystem backup manifest mac v1"
DB_PART = "db.gpg"
FILES_PART = "files.tar.gpg"
MANIFEST_PART = "manifest.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
SET_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+?)-(?P<stamp>\d{8}T\d{6}Z)\."
    r"(?P<part>manifest\.json|db\.gpg|files\.tar\.gpg)$"
)
PARTIAL_RE = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{16}\.partial$")
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
# pg_try_advisory_lock key: one backup at a time across every host sharing the database.
BACKUP_LOCK_ID = 0x7A11_0002
LIBPQ_OPTIONS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "passfile",
    "service",
    "connect_timeout",
    "target_session_attrs",
)


# --- Backup sets on disk --------------------------------------------------------------------


@dataclass(frozen=True)
class BackupSet:
    directory: Path
    base: str

    @property
    def stamp(self) -> datetime:
        text = self.base.rsplit("-", 1)[1]
        return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)

    def path(self, part: str) -> Path:
        return self.directory / f"{self.base}.{part}"

    def existing_parts(self) -> list[Path]:
        return [
            p for part in (MANIFEST_PART, DB_PART, FILES_PART) if (p := self.path(part)).exists()
        ]


def set_from_path(value: str | Path) -> BackupSet:
    """The set a path names: its manifest, one of its files, or its base name."""
    path = Path(value)
    match = SET_RE.match(path.name)
    if match:
        return BackupSet(path.parent.resolve(), path.name[: match.end("stamp")])
    if re.match(r"^[A-Za-z0-9_.-]+-\d{8}T\d{6}Z$", path.name):
        return BackupSet(path.parent.resolve(), path.name)
    raise BackupError(
        f"{path.name} is not a backup file name (expected <name>-<YYYYmmddTHHMMSSZ>.manifest.json)"
    )


def list_sets(directory: Path | None = None, name: str | None = None) -> list[BackupSet]:
    """Every set of ours in the directory (complete or not), oldest first."""
    directory = directory or settings.BACKUP_DIR
    name = name or settings.BACKUP_NAME
    bases: set[str] = set()
    if directory.is_dir():
        for entry in directory.iterdir():
            match = SET_RE.match(entry.name)
            if match and match["name"] == name:
                bases.add(entry.name[: match.end("stamp")])
    return sorted((BackupSet(directory, base) for base in bases), key=lambda s: s.stamp)


def latest_set(directory: Path | None = None) -> tuple[BackupSet, list[str]]:
    """The newest set whose manifest is authentic, and why each newer one was skipped."""
    _manifest_key()  # without the key nothing is authentic: say that, not "skipped" per set
    skipped: list[str] = []
    for backup_set in reversed(list_sets(directory)):
        if not backup_set.path(MANIFEST_PART).exists():
            continue
        try:
            authentic_manifest(backup_set)
        except BackupError as exc:
            skipped.append(f"{backup_set.base}: {exc}")
            continue
        # Ours: from here on any problem with it is the drill's to report, not to skip.
        return backup_set, skipped
    where = directory or settings.BACKUP_DIR
    if skipped:
        raise BackupError(
            f"no authentic backup in {where}: {len(skipped)} refused, the newest {skipped[0]}"
        )
    raise BackupError(f"no backup with a manifest in {where}")


class AtomicFile:
    """A file that appears under its final name only once it is complete and on disk."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.temp = final.with_name(f".{final.name}.{secrets.token_hex(8)}.partial")
        self.sha256 = hashlib.sha256()
        self.size = 0
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb", buffering=0)

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError("write after finish")
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]
        self.sha256.update(data)
        self.size += len(data)

    def finish(self) -> None:
        """Flush to stable storage (a full disk shows up here at the latest)."""
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def publish(self) -> None:
        self.finish()
        os.replace(self.temp, self.final)

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Manifests ---------------------------------------------------------------------------------


def _manifest_key() -> bytes:
    try:
        audit_key = parse_blind_index_key(settings.AUDIT_HMAC_KEY, name="AUDIT_HMAC_KEY")
    except KeyringError as exc:
        raise BackupError(f"cannot sign or check backup manifests: {exc}") from None
    return hmac.new(audit_key, MANIFEST_MAC_LABEL, hashlib.sha256).digest()


def canonical_manifest(manifest: dict[str, Any]) -> bytes:
    """The bytes the MAC covers: every entry but the MAC, as sorted, compact, ASCII JSON."""
    content = {key: value for key, value in manifest.items() if key != "mac"}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def manifest_mac(manifest: dict[str, Any]) -> str:
    return hmac.new(_manifest_key(), canonical_manifest(manifest), hashlib.sha256).hexdigest()


def sign_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    return {**manifest, "mac": manifest_mac(manifest)}


def _authenticity_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict):
        return "is not a backup manifest"
    mac = manifest.get("mac")
    if mac is None:
        return (
            "is not signed (a set made before backups were signed, or not made by this "
            "installation)"
        )
    if not isinstance(mac, str) or not hmac.compare_digest(
        mac.encode(), manifest_mac(manifest).encode()
    ):
        return (
            "is not authentic: its MAC does not match (forged or altered, or AUDIT_HMAC_KEY "
            "is not the key of the installation that made it)"
        )
    return None


def authentic_manifest(backup_set: BackupSet) -> dict[str, Any]:
    """Read a set's manifest and check its MAC; refuse an unsigned or forged one."""
    path = backup_set.path(MANIFEST_PART)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"manifest missing: {path.name} (an incomplete backup; refusing to use it)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # Anything can be in BACKUP_DIR: even absurdly nested JSON gets one line.
        raise BackupError(f"manifest {path.name} is unreadable: {one_line(str(exc))}") from None
    problem = _authenticity_problem(manifest)
    if problem:
        raise BackupError(f"manifest {path.name} {problem}: refusing to use this backup")
    return manifest


def load_manifest(backup_set: BackupSet) -> dict[str, Any]:
    """An authentic manifest whose content is well-formed and describes this set."""
    manifest = authentic_manifest(backup_set)
    problem = _manifest_problem(manifest, backup_set)
    if problem:
        raise BackupError(f"manifest {backup_set.path(MANIFEST_PART).name} is invalid: {problem}")
    return manifest


def _manifest_problem(manifest: Any, backup_set: BackupSet) -> str | None:
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return f"not a format {MANIFEST_FORMAT} manifest"
    if manifest.get("name") != backup_set.base:
        return f"it describes {manifest.get('name')!r}"
    if manifest.get("engine") not in {"postgresql", "sqlite"}:
        return "unknown database engine"
    counts = manifest.get("row_counts")
    if not isinstance(counts, dict) or not counts:
        return "no row counts"
    for table, count in counts.items():
        if not TABLE_RE.match(table) or not isinstance(count, int) or count < 0:
            return f"bad row count entry {table!r}"
    files = manifest.get("files")
    if not isinstance(files, dict) or DB_PART not in files:
        return "no database file listed"
    for part, info in files.items():
        if part not in {DB_PART, FILES_PART}:
            return f"unknown file {part!r}"
        if not isinstance(info, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(info.get("sha256"))):
            return f"no sha256 for {part}"
        if not isinstance(info.get("size"), int):
            return f"no size for {part}"
    return None


@contextlib.contextmanager
def checked_files(
    backup_set: BackupSet, manifest: dict[str, Any]
) -> Iterator[dict[str, IO[bytes]]]:
    """Each file of the set, opened once and checked against the manifest, rewound.

    The checked handles are the ones decrypted afterwards: a file swapped under the same
    name after the check is never read.
    """
    with contextlib.ExitStack() as stack:
        handles: dict[str, IO[bytes]] = {}
        for part, info in manifest["files"].items():
            path = backup_set.path(part)
            try:
                handle = stack.enter_context(path.open("rb"))
            except FileNotFoundError:
                raise BackupError(f"{path.name} is missing") from None
            size = os.fstat(handle.fileno()).st_size
            if size != info["size"]:
                raise BackupError(
                    f"{path.name} is truncated or damaged: {size} bytes, the manifest says {info['size']}"
                )
            digest = hashlib.sha256()
            while chunk := handle.read(gpg.CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != info["sha256"]:
                raise BackupError(f"{path.name} is damaged: sha256 does not match the manifest")
            handle.seek(0)
            handles[part] = handle
        yield handles


# --- Databases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A database to back up from or restore into, from Django settings or a URL."""

    engine: str  # "postgresql" or "sqlite"
    settings_dict: dict[str, Any]

    @classmethod
    def from_settings(cls, settings_dict: dict[str, Any]) -> Database:
        engine = settings_dict["ENGINE"]
        if engine.endswith("postgresql"):
            return cls("postgresql", dict(settings_dict))
        if engine.endswith("sqlite3"):
            return cls("sqlite", dict(settings_dict))
        raise BackupError(f"backups support PostgreSQL and SQLite, not {engine}")

    @classmethod
    def from_url(cls, url: str) -> Database:
        try:
            parsed = dj_database_url.parse(url)
        except ValueError as exc:
            raise BackupError(f"--database is not a database URL: {one_line(str(exc))}") from None
        parsed.setdefault("OPTIONS", {})
        database = cls.from_settings(parsed)
        if database.engine == "sqlite" and str(parsed.get("NAME")) in {"", ":memory:"}:
            raise BackupError("--database sqlite URL needs a file path: sqlite:////path/db.sqlite3")
        return database

    @property
    def name(self) -> str:
        return str(self.settings_dict.get("NAME") or "")

    @property
    def label(self) -> str:
        """For messages: engine, host and name, never the password."""
        if self.engine == "sqlite":
            return f"sqlite {self.name}"
        host = self.settings_dict.get("HOST") or "local socket"
        return f"postgresql {self.name} on {host}"

    # PostgreSQL connection details for psycopg and for the client tools.
    def pg_params(self) -> dict[str, Any]:
        sd = self.settings_dict
        params: dict[str, Any] = {
            "dbname": sd.get("NAME") or "postgres",
            "user": sd.get("USER") or None,
            "password": sd.get("PASSWORD") or None,
            "host": sd.get("HOST") or None,
            "port": sd.get("PORT") or None,
        }
        options = sd.get("OPTIONS") or {}
        params.update({key: options[key] for key in LIBPQ_OPTIONS if options.get(key)})
        return {key: value for key, value in params.items() if value is not None}

    def pg_tool(self, tool: str, options: list[str]) -> tuple[list[str], dict[str, str]]:
        """argv and environment for psql/pg_dump: the password goes in PGPASSWORD, not argv."""
        sd = {**self.settings_dict, "OPTIONS": self.settings_dict.get("OPTIONS") or {}}
        args, env = DatabaseClient.settings_to_cmd_args_env(sd, [])
        return [tool, *options, *args[1:]], {
            **os.environ,
            **(env or {}),
            "PGAPPNAME": "ticketsystem-ops",
        }

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(**self.pg_params(), connect_timeout=10, **kwargs)
        except psycopg.Error as exc:
            raise BackupError(f"cannot connect to {self.label}: {one_line(str(exc))}") from None


def _pg_tables(cursor: Any) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'"
        " ORDER BY 1, 2"
    )
    return list(cursor.fetchall())


def _table_key(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def _pg_counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for schema, table in _pg_tables(cursor):
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
        counts[_table_key(schema, table)] = cursor.fetchone()[0]
    return counts


def _migrations(cursor: Any) -> tuple[dict[str, str], dict[str, str] | None]:
    """Latest migration per app, and the one applied last (None without Django tables)."""
    try:
        cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
        per_app = dict(cursor.fetchall())
        cursor.execute(
            "SELECT app, name FROM django_migrations ORDER BY applied DESC, id DESC LIMIT 1"
        )
        row = cursor.fetchone()
    except (psycopg.Error, sqlite3.Error):
        return {}, None
    return per_app, ({"app": row[0], "name": row[1]} if row else None)


def _sqlite_counts(db: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


class _Tool:
    """A client tool subprocess whose stderr goes to an anonymous temporary file."""

    def __init__(self, args: list[str], env: dict[str, str], **kwargs: Any) -> None:
        self.name = args[0]
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the tool
        try:
            self.proc = subprocess.Popen(args, env=env, stderr=self.stderr, **kwargs)  # noqa: S603
        except OSError as exc:
            self.stderr.close()
            raise BackupError(f"cannot run {self.name}: {gpg.describe(exc)}") from None

    def error(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if line.strip()]
        # psql prints context lines after the error; the ERROR line says what went wrong.
        for line in lines:
            if "ERROR:" in line or "FATAL:" in line or "error:" in line:
                return line.strip()[:300]
        return (lines[0].strip()[:300] if lines else "") or f"exit status {self.proc.returncode}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self.kill()
        self.stderr.close()


# --- Creating backups --------------------------------------------------------------------------


@dataclass
class BackupResult:
    backup_set: BackupSet
    manifest: dict[str, Any]
    pruned: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(info["size"] for info in self.manifest["files"].values())


@contextlib.contextmanager
def backup_lock(database: Database) -> Iterator[None]:
    """One backup at a time: a PostgreSQL advisory lock, or a file lock for SQLite."""
    busy = "another backup is running (lock held); not starting a second one"
    if database.engine == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [BACKUP_LOCK_ID])
            if not cursor.fetchone()[0]:
                raise BackupError(busy)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [BACKUP_LOCK_ID])
        return
    import fcntl

    lock_path = settings.BACKUP_DIR / ".backup.lock"
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(busy) from None
        yield


def _dump_postgres(database: Database, ring: gpg.Keyring, out: AtomicFile) -> dict[str, Any]:
    with database.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            # The dump and the row counts see the same snapshot, so they must agree.
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _pg_counts(cursor)
            per_app, latest = _migrations(cursor)
        args, env = database.pg_tool(
            "pg_dump", ["--format=custom", f"--snapshot={snapshot}", "--no-password"]
        )
        dump = _Tool(args, env, stdout=subprocess.PIPE)
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
    return {"row_counts": counts, "migrations": per_app, "latest_migration": latest}


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
        counts = _sqlite_counts(memory)
        per_app, latest = _migrations(memory.cursor())
        image = memory.serialize()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the SQLite database: {exc}") from None
    finally:
        memory.close()
    gpg.encrypt_stream(ring, gpg.BytesReader(image), Sink(out.write), compress=True)
    return {"row_counts": counts, "migrations": per_app, "latest_migration": latest}


def _attachment_files(root: Path) -> Iterator[Path]:
    """Regular files under the attachment store; symlinks are never followed."""
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(current) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _run_pipe(
    produce: Callable[[IO[bytes]], Any], consume: Callable[[IO[bytes]], Any]
) -> tuple[Any, Any]:
    """Run ``produce(writer)`` in a thread and ``consume(reader)`` here, joined by a pipe."""
    read_fd, write_fd = os.pipe()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with os.fdopen(write_fd, "wb") as writer:
                outcome["value"] = produce(writer)
        except BaseException as exc:  # reported to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb") as reader:
            consumed = consume(reader)
    finally:
        thread.join()
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, BackupError):
            raise error
        raise BackupError(f"attachment archive failed: {gpg.describe(error)}")
    return outcome.get("value"), consumed


def _dump_attachments(ring: gpg.Keyring, out: AtomicFile) -> dict[str, int]:
    root = settings.ATTACHMENT_DIR

    def produce(writer: IO[bytes]) -> dict[str, int]:
        stats = {"files": 0, "bytes": 0}
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for path in _attachment_files(root):
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root)))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
                stats["files"] += 1
                stats["bytes"] += info.size
        return stats

    def consume(reader: IO[bytes]) -> None:
        gpg.encrypt_stream(ring, reader, Sink(out.write), compress=False)

    stats, _ = _run_pipe(produce, consume)
    return stats


def create_backup(*, keep_days: int | None = None) -> BackupResult:
    """Back up the database (and attachment store) into one encrypted set, then prune."""
    from ops import services

    started = timezone.now()
    database = Database.from_settings(connection.settings_dict)
    directory: Path = settings.BACKUP_DIR
    base = f"{settings.BACKUP_NAME}-{started.astimezone(UTC).strftime(STAMP_FORMAT)}"
    files: list[AtomicFile] = []
    done = False
    try:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", settings.BACKUP_NAME):
            raise BackupError("BACKUP_NAME may use letters, digits, '.', '_' and '-' only")
        _manifest_key()  # no key, no backup: an unsigned set could never be used
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
            _remove_stale_partials(directory)
            try:
                db_file = AtomicFile(backup_set.path(DB_PART))
            except OSError as exc:
                raise BackupError(
                    f"cannot write to BACKUP_DIR {directory}: {gpg.describe(exc)}"
                ) from None
            files.append(db_file)
            dump = _dump_postgres if database.engine == "postgresql" else _dump_sqlite
            info = dump(database, ring, db_file)
            attachments = None
            if settings.ATTACHMENT_DIR.is_dir():
                files_file = AtomicFile(backup_set.path(FILES_PART))
                files.append(files_file)
                attachments = _dump_attachments(ring, files_file)
            for item in files:
                item.finish()
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
                "attachments": attachments,
                "files": {
                    item.final.name.removeprefix(base + "."): {
                        "sha256": item.sha256.hexdigest(),
                        "size": item.size,
                    }
                    for item in files
                },
                "recipients": [key.fingerprint for key in recipients],
            }
            for item in files:
                item.publish()
            manifest_file = AtomicFile(backup_set.path(MANIFEST_PART))
            files.append(manifest_file)
            manifest["duration_seconds"] = round((timezone.now() - started).total_seconds(), 3)
            manifest = sign_manifest(manifest)
            manifest_file.write(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
            manifest_file.publish()
            _fsync_dir(directory)
            done = True
    except OSError as exc:
        error = BackupError(f"backup failed: {gpg.describe(exc)}")
        _record_failure(services, "backup", base, started, database, error)
        raise error from None
    except BackupError as exc:
        _record_failure(services, "backup", base, started, database, exc)
        raise
    finally:
        if not done:
            _discard(files)
    result = BackupResult(backup_set, manifest)
    services.backup_run_record(
        kind="backup",
        name=base,
        started_at=started,
        ok=True,
        engine=database.engine,
        size=result.size,
        details={
            "tables": len(manifest["row_counts"]),
            "rows": sum(manifest["row_counts"].values()),
            "attachments": attachments,
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


def _record_failure(
    services: Any,
    kind: str,
    name: str,
    started: datetime,
    database: Database | None,
    exc: Exception,
) -> None:
    """Best effort: the database may be the thing that failed."""
    with contextlib.suppress(DatabaseError):
        services.backup_run_record(
            kind=kind,
            name=name,
            started_at=started,
            ok=False,
            engine=database.engine if database else "",
            message=str(exc),
        )


def _remove_stale_partials(directory: Path, older_than: timedelta = timedelta(hours=12)) -> None:
    """Leftovers of a crashed run (we hold the lock, so none is being written now)."""
    cutoff = time.time() - older_than.total_seconds()
    for entry in directory.iterdir():
        match = PARTIAL_RE.match(entry.name)
        if match and SET_RE.match(match["final"]):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()


def prune(keep_days: int, *, now: datetime | None = None) -> list[str]:
    """Delete our own sets older than ``keep_days`` by their time stamp; keep the newest good one."""
    from ops import services

    now = now or timezone.now()
    sets = list_sets()
    good = [s for s in sets if _is_complete(s)]
    newest_good = good[-1] if good else None
    try:
        cutoff = now - timedelta(days=keep_days)
    except OverflowError:  # a retention longer than the calendar: nothing has expired
        return []
    deleted = []
    for backup_set in sets:
        if backup_set.stamp >= cutoff or backup_set == newest_good:
            continue
        # Manifest first: an interrupted prune leaves files that no longer look complete.
        for path in backup_set.existing_parts():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        deleted.append(backup_set.base)
    if deleted:
        services.backup_files_deleted(names=deleted, keep_days=keep_days)
    return deleted


def _is_complete(backup_set: BackupSet) -> bool:
    try:
        manifest = load_manifest(backup_set)
    except BackupError:
        return False
    return all(
        backup_set.path(part).exists() and backup_set.path(part).stat().st_size == info["size"]
        for part, info in manifest["files"].items()
    )


# --- Restoring ---------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    backup_set: BackupSet
    manifest: dict[str, Any]
    target: str
    attachments: dict[str, int] | None = None


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
        return len(_pg_tables(cursor))


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
    psql = _Tool(args, env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    restore: _Tool | None = None
    try:
        psql.proc.stdin.write(b"BEGIN;\n" + (REPLACE_SCHEMAS_SQL if force else b""))
        psql.proc.stdin.flush()
        restore = _Tool(
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
        counts = _sqlite_counts(memory)
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
        _fsync_dir(target.parent)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise BackupError(f"cannot write {target}: {gpg.describe(exc)}") from None


def _read_attachments(
    ring: gpg.Keyring,
    backup_set: BackupSet,
    manifest: dict[str, Any],
    source: IO[bytes],
    secret: str | None,
    extract_to: Path | None,
) -> dict[str, int]:
    """Decrypt the attachment archive; count (and optionally extract) its files safely."""
    path = backup_set.path(FILES_PART)
    reader_holder: dict[str, HashingReader] = {}

    def produce(writer: IO[bytes]) -> None:
        reader = reader_holder["r"] = HashingReader(source)
        gpg.decrypt_stream(ring, reader, Sink(writer.write), secret=secret)

    def consume(reader: IO[bytes]) -> dict[str, int]:
        stats = {"files": 0, "bytes": 0}
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    if extract_to is not None:
                        tar.extract(member, extract_to, filter="data")
                    else:
                        handle = tar.extractfile(member)
                        while handle is not None and handle.read(gpg.CHUNK):
                            pass
                    stats["files"] += 1
                    stats["bytes"] += member.size
        except (tarfile.TarError, OSError) as exc:
            stats["error"] = str(exc)  # type: ignore[assignment]
        # Drain so the decrypting side always sees its whole output consumed.
        while reader.read(gpg.CHUNK):
            pass
        return stats

    _, stats = _run_pipe(produce, consume)
    if reader_holder["r"].sha256.hexdigest() != manifest["files"][FILES_PART]["sha256"]:
        raise BackupError(f"{path.name} changed while it was being read")
    if "error" in stats:
        raise BackupError(f"the attachment archive is damaged: {stats['error']}")
    expected = manifest.get("attachments") or {}
    if stats != {"files": expected.get("files"), "bytes": expected.get("bytes")}:
        raise BackupError(
            f"attachment archive holds {stats['files']} files ({stats['bytes']} bytes), "
            f"the manifest says {expected.get('files')} ({expected.get('bytes')} bytes)"
        )
    return stats


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


def scratch_database_name(base: str) -> str:
    prefix = settings.BACKUP_SCRATCH_DB_PREFIX or f"{base}_verify"
    name = f"{prefix}_{secrets.token_hex(4)}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise BackupError(
            f"scratch database name {name!r} is not valid: check BACKUP_SCRATCH_DB_PREFIX"
        )
    return name


@contextlib.contextmanager
def scratch_postgres(server: Database) -> Iterator[Database]:
    """A new empty database on the same server, dropped afterwards whatever happens."""
    name = scratch_database_name(server.name)
    with server.connect(autocommit=True) as conn:
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
        with server.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def verify_backup(backup_set: BackupSet) -> RestoreResult:
    """The restore drill: decrypt, check, restore into a scratch database, compare counts."""
    from ops import services

    started = timezone.now()
    database = Database.from_settings(connection.settings_dict)
    attachments = None
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
            if FILES_PART in manifest["files"]:
                attachments = _read_attachments(
                    ring, backup_set, manifest, files[FILES_PART], secret, None
                )
    except BackupError as exc:
        _record_failure(services, "verify", backup_set.base, started, database, exc)
        raise
    services.backup_run_record(
        kind="verify",
        name=backup_set.base,
        started_at=started,
        ok=True,
        engine=manifest["engine"],
        size=sum(info["size"] for info in manifest["files"].values()),
        details={"tables": len(manifest["row_counts"]), "attachments": attachments},
    )
    return RestoreResult(backup_set, manifest, target, attachments)


def restore_backup(
    backup_set: BackupSet,
    url: str,
    *,
    force: bool = False,
    attachments_dir: Path | None = None,
) -> RestoreResult:
    """Restore a set into the database at ``url`` (and its files into ``attachments_dir``)."""
    from ops import services

    started = timezone.now()
    target = Database.from_url(url)
    staged: Path | None = None
    attachments = None
    try:
        with gpg.keyring() as ring, _prepare(backup_set, ring) as (manifest, files, secret):
            if manifest["engine"] != target.engine:
                raise BackupError(
                    f"this is a {manifest['engine']} backup; it cannot be restored into {target.engine}"
                )
            if attachments_dir is not None and FILES_PART in manifest["files"]:
                staged = _stage_attachments(
                    ring, backup_set, manifest, files[FILES_PART], secret, attachments_dir, force
                )
                attachments = manifest.get("attachments")
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
            if staged is not None and attachments_dir is not None:
                _swap_in(staged, attachments_dir)
                staged = None
    except BackupError as exc:
        if staged is not None:
            _remove_tree(staged)
        _record_failure(services, "restore", backup_set.base, started, None, exc)
        raise
    # The configured database may be the one being rebuilt; the restore itself is done.
    with contextlib.suppress(DatabaseError):
        services.backup_run_record(
            kind="restore",
            name=backup_set.base,
            started_at=started,
            ok=True,
            engine=target.engine,
            size=sum(info["size"] for info in manifest["files"].values()),
            details={"target": target.label, "attachments": attachments},
        )
    return RestoreResult(backup_set, manifest, target.label, attachments)


def _stage_attachments(
    ring: gpg.Keyring,
    backup_set: BackupSet,
    manifest: dict[str, Any],
    source: IO[bytes],
    secret: str | None,
    destination: Path,
    force: bool,
) -> Path:
    try:
        if destination.exists() and any(destination.iterdir()) and not force:
            raise BackupError(
                f"attachment directory {destination} is not empty: pass --force to replace it "
                "(the old one is kept beside it) or --skip-attachments"
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(
            tempfile.mkdtemp(prefix=f".{destination.name}.restore-", dir=destination.parent)
        )
    except OSError as exc:
        raise BackupError(
            f"cannot use {destination} as the attachment directory: {gpg.describe(exc)}"
        ) from None
    try:
        _read_attachments(ring, backup_set, manifest, source, secret, staged)
    except BackupError:
        _remove_tree(staged)
        raise
    return staged


def _swap_in(staged: Path, destination: Path) -> None:
    if destination.exists():
        stamp = timezone.now().astimezone(UTC).strftime(STAMP_FORMAT)
        destination.rename(destination.with_name(f"{destination.name}.before-restore-{stamp}"))
    staged.rename(destination)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
