"""Fixtures for the operations tests: throwaway GPG keys, backup settings, scratch databases."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
from django.db import connection
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"
# Scratch and restore databases (and roles) made by these tests all start with
# <configured database>_ops_, so test runs against different databases never see each other's.
_URL = os.environ.get("DATABASE_URL")
DB_PREFIX = f"{(dj_database_url.parse(_URL).get('NAME') if _URL else None) or 'ts'}_ops_"


@dataclass(frozen=True)
class GpgKeys:
    home: Path
    fingerprint: str
    public: Path  # the backup key's public half (what the backup host gets)
    secret: Path  # its private half (restore hosts only), protected by PASSPHRASE
    other_secret: Path  # an unrelated key pair's private half: "the wrong key"
    other_public: Path
    passphrase_file: Path
    wrong_passphrase_file: Path
    newline_passphrase_file: Path


def _gpg(home: Path, *args: str, passphrase: str = "") -> str:
    result = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            *args,
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def _make_key(home: Path, uid: str, passphrase: str) -> str:
    _gpg(home, "--quick-gen-key", uid, "ed25519", "cert", "never", passphrase=passphrase)
    listing = _gpg(home, "--list-keys", "--with-colons", uid)
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
    )
    _gpg(home, "--quick-add-key", fingerprint, "cv25519", "encr", "never", passphrase=passphrase)
    return fingerprint


@pytest.fixture(scope="session")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKeys]:
    """Two fresh key pairs in a temporary GNUPGHOME (never the user's keyring)."""
    root = tmp_path_factory.mktemp("gpg")
    home = root / "home"
    home.mkdir(mode=0o700)
    fingerprint = _make_key(home, "Backup Test <backup@example.org>", PASSPHRASE)
    other = _make_key(home, "Someone Else <else@example.org>", "another passphrase")
    keys = GpgKeys(
        home=home,
        fingerprint=fingerprint,
        public=root / "backup.pub.asc",
        secret=root / "backup.sec.asc",
        other_secret=root / "other.sec.asc",
        other_public=root / "other.pub.asc",
        passphrase_file=root / "passphrase",
        wrong_passphrase_file=root / "wrong-passphrase",
        newline_passphrase_file=root / "newline-passphrase",
    )
    keys.public.write_text(_gpg(home, "--armor", "--export", fingerprint))
    keys.other_public.write_text(_gpg(home, "--armor", "--export", other))
    keys.secret.write_text(
        _gpg(home, "--armor", "--export-secret-keys", fingerprint, passphrase=PASSPHRASE)
    )
    keys.other_secret.write_text(
        _gpg(home, "--armor", "--export-secret-keys", other, passphrase="another passphrase")
    )
    keys.passphrase_file.write_text(PASSPHRASE + "\n")
    keys.wrong_passphrase_file.write_text("not the passphrase\n")
    keys.newline_passphrase_file.write_text("correct horse\nbattery staple\n")
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    yield keys


@pytest.fixture
def backup_settings(settings: Any, tmp_path: Path, gpg_keys: GpgKeys) -> Any:
    """Backups into a temporary BACKUP_DIR with the throwaway keys."""
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_NAME = "ticketsystem"
    settings.BACKUP_GPG_PUBLIC_KEY_FILE = str(gpg_keys.public)
    settings.BACKUP_GPG_RECIPIENTS = []
    settings.BACKUP_GPG_PRIVATE_KEY_FILE = str(gpg_keys.secret)
    settings.BACKUP_GPG_PASSPHRASE = PASSPHRASE
    settings.BACKUP_SCRATCH_DB_PREFIX = f"{DB_PREFIX}verify"
    settings.BACKUP_KEEP_DAYS = 30
    return settings


@pytest.fixture
def canary() -> Iterator[Path]:
    """A file the database server may create: proof that a forged backup's payload ran.

    Its directory is world-writable, so the server (on this machine, as a different user)
    can write there; nothing creates the file unless attacker SQL runs.
    """
    directory = Path(tempfile.mkdtemp(prefix=f"{DB_PREFIX}canary-"))
    directory.chmod(0o777)
    yield directory / "pwned"
    shutil.rmtree(directory, ignore_errors=True)


def server_params() -> dict[str, Any]:
    sd = connection.settings_dict
    params = {
        "user": sd["USER"],
        "password": sd["PASSWORD"],
        "host": sd["HOST"],
        "port": sd["PORT"],
    }
    return {key: value for key, value in params.items() if value}


def database_url(name: str) -> str:
    sd = connection.settings_dict
    auth = sd["USER"] + (f":{sd['PASSWORD']}" if sd["PASSWORD"] else "")
    return f"postgres://{auth}@{sd['HOST'] or '127.0.0.1'}:{sd['PORT'] or 5432}/{name}"


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new empty PostgreSQL database (<DB_PREFIX>restore_…) on the test server; its URL."""
    name = f"{DB_PREFIX}restore_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server_params()) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield database_url(name)
    with psycopg.connect(dbname="postgres", autocommit=True, **server_params()) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def table_names(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def scratch_databases() -> list[str]:
    with psycopg.connect(dbname="postgres", **server_params()) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{DB_PREFIX}verify%"]
        ).fetchall()
    return [row[0] for row in rows]


def manage(
    *args: str, env: dict[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a subprocess (its own settings from ``env``)."""
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def sqlite_env(data_dir: Path, keys: GpgKeys, **extra: str) -> dict[str, str]:
    """A SQLite-default environment: DATABASE_URL and REDIS_URL unset, DATA_DIR in tmp."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DATA_DIR=str(data_dir),
        BACKUP_GPG_PUBLIC_KEY_FILE=str(keys.public),
        BACKUP_GPG_PRIVATE_KEY_FILE=str(keys.secret),
        BACKUP_GPG_PASSPHRASE_FILE=str(keys.passphrase_file),
    )
    env.pop("BACKUP_GPG_PASSPHRASE", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def tampering() -> Iterator[None]:
    """What only a database owner can do: switch the append-only trigger off, then edit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_securityevent DISABLE TRIGGER audit_securityevent_append_only"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE audit_securityevent ENABLE TRIGGER audit_securityevent_append_only"
            )
