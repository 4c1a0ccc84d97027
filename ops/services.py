"""The writes of the operations app: backup runs and monitor state, each with its audit event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import record_event
from ops.models import BackupRun, MonitorCheck

EVENTS = {
    (BackupRun.Kind.BACKUP, True): "backup_created",
    (BackupRun.Kind.BACKUP, False): "backup_failed",
    (BackupRun.Kind.VERIFY, True): "backup_verified",
    (BackupRun.Kind.VERIFY, False): "backup_verify_failed",
    (BackupRun.Kind.RESTORE, True): "backup_restored",
    (BackupRun.Kind.RESTORE, False): "backup_restore_failed",
}


@transaction.atomic
def backup_run_record(
    *,
    actor: Any = None,
    kind: BackupRun.Kind,
    name: str,
    started_at: datetime,
    ok: bool,
    engine: str = "",
    size: int = 0,
    message: str = "",
    details: dict[str, Any] | None = None,
) -> BackupRun:
    """Remember one backup/verify/restore run and write its security event."""
    run = BackupRun(
        kind=kind,
        name=name[:200],
        started_at=started_at,
        finished_at=timezone.now(),
        ok=ok,
        engine=engine,
        size=size,
        message=message[:500],
        details=details or {},
    )
    run.full_clean()
    run.save(force_insert=True)
    # Details carry sizes and counts only: never paths to keys or any decrypted data.
    event_details = {"ok": ok, "size": size}
    if message:
        event_details["reason"] = message[:200]
    record_event(EVENTS[(kind, ok)], actor=actor, resource=name[:200], details=event_details)
    return run


@transaction.atomic
def backup_files_deleted(*, actor: Any = None, names: list[str], keep_days: int) -> None:
    """Retention removed these backup sets (one event for the batch)."""
    if names:
        record_event(
            "backup_deleted",
            actor=actor,
            resource=names[0] if len(names) == 1 else f"{len(names)} backup sets",
            details={"names": names[:50], "keep_days": keep_days},
        )


@transaction.atomic
def monitor_check_save(
    *,
    name: str,
    failing: bool,
    summary: str,
    since: datetime,
    checked_at: datetime,
    last_alert_at: datetime | None,
) -> MonitorCheck:
    """Store a rule's state as the monitor decided it (or reconciled it after an outage)."""
    check, _ = MonitorCheck.objects.select_for_update().get_or_create(
        name=name, defaults={"since": since, "last_checked_at": checked_at}
    )
    check.failing = failing
    check.summary = summary[:300]
    check.since = since
    check.last_checked_at = checked_at
    check.last_alert_at = last_alert_at
    check.full_clean()
    check.save(update_fields=["failing", "summary", "since", "last_checked_at", "last_alert_at"])
    return check
