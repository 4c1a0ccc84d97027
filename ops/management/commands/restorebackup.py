"""manage.py restorebackup FILE --database URL: restore a backup, all or nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backups.restore import restore_backup
from ops.backups.sets import set_from_path
from ops.cli import Interrupted, exit_interrupted, interruptible
from ops.gpg import BackupError


class Command(BaseCommand):
    help = (
        "Restore a backup set whose signed manifest is authentic into an empty database (a "
        "non-empty one only with --force), in one transaction: on any error nothing is "
        "restored. Attachments are in the database and come back with it; see "
        "docs/operations.md for the runbook."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup's manifest or .gpg file.")
        parser.add_argument(
            "--database",
            required=True,
            help="Target database URL, e.g. postgres://user@host/db or sqlite:////path/db.sqlite3",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the contents of a non-empty database.",
        )

    def handle(self, *args: Any, file: str, database: str, force: bool, **options: Any) -> None:
        try:
            with interruptible():
                result = restore_backup(set_from_path(file), database, force=force)
        except BackupError as exc:
            raise CommandError(f"restore failed: {exc}") from None
        except Interrupted as exc:
            raise exit_interrupted(exc, "restore") from None
        counts = result.manifest["row_counts"]
        self.stdout.write(
            f"restored {result.backup_set.base} into {result.target}: {len(counts)} tables, "
            f"{sum(counts.values())} rows" + "".join(f"; {note}" for note in result.notes)
        )
