"""What a failed backup, drill or restore leaves behind: a BackupRun and its security event."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from django.db import DatabaseError

from audit.events import ChainKeyMismatch
from ops import services
from ops.models import BackupRun


def record_failure(
    kind: BackupRun.Kind, name: str, started: datetime, engine: str, exc: Exception
) -> None:
    """Best effort: the database may be the thing that failed, or the audit key the wrong
    one (then nothing is recorded, and the command still reports the failure itself)."""
    with contextlib.suppress(DatabaseError):
        try:
            services.backup_run_record(
                kind=kind, name=name, started_at=started, ok=False, engine=engine, message=str(exc)
            )
        except ChainKeyMismatch as mismatch:
            logging.getLogger("ticketsystem.ops").error("%s", mismatch)
