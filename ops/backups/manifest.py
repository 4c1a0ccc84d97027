"""Backup manifests: sign, authenticate, validate, and the files they vouch for.

Sets are encrypted to a public key, so anyone who can write BACKUP_DIR could encrypt a dump
of their own: the MAC is what makes a set ours. verifybackup and restorebackup check it, and
then every file's sha256 through the file handles they go on to read, before gpg, pg_restore
or psql see a byte; a set without a valid MAC is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from ops import gpg
from ops.backups.sets import DB_PART, LEGACY_FILES_PART, MANIFEST_PART, BackupSet, list_sets
from ops.gpg import BackupError, one_line
from ticketsystem.cipher import KeyringError, parse_blind_index_key

# Format 2: signed (a "mac" entry). Format 1 sets carried no MAC and are refused.
MANIFEST_FORMAT = 2
# The manifest key is HMAC-SHA256(AUDIT_HMAC_KEY, this label): never the chain key itself.
MANIFEST_MAC_LABEL = b"ticketsystem backup manifest mac v1"
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def manifest_key() -> bytes:
    """The MAC key derived from AUDIT_HMAC_KEY; a one-line BackupError without it."""
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
    return hmac.new(manifest_key(), canonical_manifest(manifest), hashlib.sha256).hexdigest()


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
        if part not in {DB_PART, LEGACY_FILES_PART}:
            return f"unknown file {part!r}"
        if not isinstance(info, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(info.get("sha256"))):
            return f"no sha256 for {part}"
        if not isinstance(info.get("size"), int):
            return f"no size for {part}"
    return None


def latest_set(directory: Path | None = None) -> tuple[BackupSet, list[str]]:
    """The newest set whose manifest is authentic, and why each newer one was skipped."""
    manifest_key()  # without the key nothing is authentic: say that, not "skipped" per set
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
