"""What a failed backup, drill or restore leaves behind: a BackupRun and its security event."""

from __future__ import annotations

import contextlib
from datetime import datetime

from django.db import DatabaseError

from ops import services
from ops.models import BackupRun


def record_failure(
    kind: BackupRun.Kind, name: str, started: datetime, engine: str, exc: Exception
) -> None:
    """Best effort: the database may be the thing that failed."""
    with contextlib.suppress(DatabaseError):
        services.backup_run_record(
            kind=kind, name=name, started_at=started, ok=False, engine=engine, message=str(exc)
        )
