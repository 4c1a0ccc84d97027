"""Retention: delete our own expired sets, never the newest complete one."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from django.utils import timezone

from ops import services
from ops.backups.manifest import load_manifest
from ops.backups.sets import BackupSet, list_sets
from ops.gpg import BackupError


def prune(keep_days: int, *, now: datetime | None = None) -> list[str]:
    """Delete our own sets older than ``keep_days`` by their time stamp; keep the newest good one."""
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
