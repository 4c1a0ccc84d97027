"""Backup sets on disk: their names, listing, and files that appear only when complete.

Every file is written under a hidden ``.partial`` name, fsynced, and renamed only when the
whole set succeeded; the manifest's presence marks a complete set.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from django.conf import settings

from ops.gpg import BackupError

DB_PART = "db.gpg"
# Only in sets made while backups also archived ATTACHMENT_DIR: checked, listed and pruned
# with its set, never written or extracted.
LEGACY_FILES_PART = "files.tar.gpg"
MANIFEST_PART = "manifest.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
SET_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+?)-(?P<stamp>\d{8}T\d{6}Z)\."
    r"(?P<part>manifest\.json|db\.gpg|files\.tar\.gpg)$"
)
PARTIAL_RE = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{16}\.partial$")


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
            p
            for part in (MANIFEST_PART, DB_PART, LEGACY_FILES_PART)
            if (p := self.path(part)).exists()
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


def fsync_dir(directory: Path) -> None:
    """Make renames in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_partials(directory: Path, older_than: timedelta = timedelta(hours=12)) -> None:
    """Leftovers of a crashed run (the caller holds the lock, so none is being written now)."""
    cutoff = time.time() - older_than.total_seconds()
    for entry in directory.iterdir():
        match = PARTIAL_RE.match(entry.name)
        if match and SET_RE.match(match["final"]):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
