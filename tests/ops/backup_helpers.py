"""Helpers for backup tests: read sets, damage files, rewrite manifests."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ops.backups.manifest import sign_manifest
from tests.ops.conftest import DB_PREFIX, GpgKeys, database_url, server_params


def only_set(directory: Path) -> str:
    manifests = sorted(directory.glob("*.manifest.json"))
    assert len(manifests) == 1, manifests
    return manifests[0].name.removesuffix(".manifest.json")


def read_manifest(directory: Path, base: str) -> dict[str, Any]:
    return json.loads((directory / f"{base}.manifest.json").read_text())


def write_manifest(
    directory: Path, base: str, manifest: dict[str, Any], *, sign: bool = True
) -> None:
    """Rewrite a manifest; signed by default (as if by someone holding AUDIT_HMAC_KEY)."""
    if sign:
        manifest = sign_manifest(manifest)
    (directory / f"{base}.manifest.json").write_text(json.dumps(manifest))


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def reseal_manifest(directory: Path, base: str, part: str = "db.gpg") -> None:
    """Make the (re-signed) manifest agree with a damaged file, so only gpg/restore catch it."""
    manifest = read_manifest(directory, base)
    data = (directory / f"{base}.{part}").read_bytes()
    manifest["files"][part] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    write_manifest(directory, base, manifest)


def add_legacy_files_part(directory: Path, base: str, data: bytes = b"") -> Path:
    """Give a set the attachment archive older sets carried, listed in its (re-signed) manifest.

    The app never decrypts that part, so any bytes do.
    """
    data = data or secrets.token_bytes(3000)
    path = directory / f"{base}.files.tar.gpg"
    path.write_bytes(data)
    manifest = read_manifest(directory, base)
    manifest["files"]["files.tar.gpg"] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    manifest["attachments"] = {"files": 1, "bytes": 2900}
    write_manifest(directory, base, manifest)
    return path


def copy_set(directory: Path, base: str, new_base: str) -> None:
    """Clone a set under another time stamp (as if written then)."""
    for path in directory.glob(f"{base}.*"):
        shutil.copy(path, directory / path.name.replace(base, new_base))
    manifest = read_manifest(directory, new_base)
    manifest["name"] = new_base
    write_manifest(directory, new_base, manifest)


def decrypt_head(keys: GpgKeys, path: Path, tmp: Path, length: int = 5) -> bytes:
    """Decrypt a file with the test key (outside the app) and return its first bytes."""
    home = tmp / "decrypt-home"
    home.mkdir(mode=0o700)
    try:
        subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--import", str(keys.secret)],
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase-file",
                str(keys.passphrase_file),
                "--decrypt",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        return out.stdout[:length]
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def recipients(keys: GpgKeys, path: Path) -> str:
    """gpg's view of who a file is encrypted to (status lines), without any secret key."""
    out = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(keys.home),
            "--batch",
            "--status-fd",
            "1",
            "--list-only",
            "--decrypt",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout


# The attacker's payload: an index expression that runs a program as the database server
# while pg_restore builds the index (so during any restore), but not in the attacker's own
# database, where the dump is made.
PAYLOAD = """
CREATE FUNCTION public.run() RETURNS void LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
    IF current_database() <> {attacker} THEN
        EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', {program});
    END IF;
END $f$;
CREATE FUNCTION public.pwn(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    PERFORM public.run();
    RETURN x;
END $f$;
CREATE TABLE public.pwned (x integer);
INSERT INTO public.pwned VALUES (1);
CREATE INDEX pwned_idx ON public.pwned (public.pwn(x));
"""


def forge_set(keys: GpgKeys, directory: Path, base: str, canary: Path) -> dict[str, Any]:
    """What someone who can write BACKUP_DIR but holds no secret can make: a real pg_dump
    archive with a payload that touches ``canary``, encrypted to the real public key, and a
    manifest that matches it in every respect except a MAC they cannot compute."""
    name = f"{DB_PREFIX}attacker_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server_params()) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(database_url(name), autocommit=True) as conn:
            conn.execute(
                sql.SQL(PAYLOAD).format(
                    attacker=sql.Literal(name), program=sql.Literal(f"touch {canary}")
                )
            )
        dump = subprocess.run(
            ["pg_dump", "--format=custom", database_url(name)], capture_output=True, check=True
        ).stdout
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server_params()) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    home = directory.parent / f"attacker-gnupg-{secrets.token_hex(4)}"
    home.mkdir(mode=0o700)
    target = directory / f"{base}.db.gpg"
    try:
        gpg = ["gpg", "--homedir", str(home), "--batch", "--yes"]
        subprocess.run([*gpg, "--import", str(keys.public)], capture_output=True, check=True)
        subprocess.run(
            [
                *gpg,
                "--trust-model",
                "always",
                "--recipient",
                keys.fingerprint,
                "--output",
                str(target),
                "--encrypt",
            ],
            input=dump,
            capture_output=True,
            check=True,
        )
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)
    data = target.read_bytes()
    manifest = {
        "format": 2,
        "name": base,
        "created_at": "2030-01-01T00:00:00+00:00",
        "app_version": "0.1.0",
        "engine": "postgresql",
        "database": "ticketsystem",
        "row_counts": {"pwned": 1},
        "migrations": {},
        "latest_migration": None,
        "files": {"db.gpg": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}},
        "recipients": [keys.fingerprint],
        "duration_seconds": 1.0,
        "mac": secrets.token_hex(32),  # the best an attacker without the key can do
    }
    write_manifest(directory, base, manifest, sign=False)
    return manifest
