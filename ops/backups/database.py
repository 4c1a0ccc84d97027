"""The databases we back up from and restore into: connection details, counts, client tools, lock."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dj_database_url
import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.postgresql.client import DatabaseClient
from psycopg import sql

from ops import gpg
from ops.gpg import BackupError, one_line

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


def pg_tables(cursor: Any) -> list[tuple[str, str]]:
    """(schema, table) of every user table, system schemas left out."""
    cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'"
        " ORDER BY 1, 2"
    )
    return list(cursor.fetchall())


def _table_key(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def pg_counts(cursor: Any) -> dict[str, int]:
    """Rows per table, keyed by name (``schema.name`` outside public)."""
    counts = {}
    for schema, table in pg_tables(cursor):
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
        counts[_table_key(schema, table)] = cursor.fetchone()[0]
    return counts


def applied_migrations(cursor: Any) -> tuple[dict[str, str], dict[str, str] | None]:
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


def sqlite_counts(db: sqlite3.Connection) -> dict[str, int]:
    """Rows per table of a SQLite database, its own sqlite_ tables left out."""
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


class Tool:
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
