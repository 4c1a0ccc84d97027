"""manage.py restorebackup FILE --database URL: restore a backup, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backups import restore_backup, set_from_path
from ops.gpg import BackupError


class Command(BaseCommand):
    help = (
        "Restore a backup set whose signed manifest is authentic into an empty database (a "
        "non-empty one only with --force), in one transaction: on any error nothing is "
        "restored. Attachments go to ATTACHMENT_DIR (or --attachments-dir); see "
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
            help="Replace the contents of a non-empty database (and attachment directory).",
        )
        files = parser.add_mutually_exclusive_group()
        files.add_argument("--attachments-dir", type=Path, help="Default: ATTACHMENT_DIR.")
        files.add_argument(
            "--skip-attachments", action="store_true", help="Restore the database only."
        )

    def handle(
        self,
        *args: Any,
        file: str,
        database: str,
        force: bool,
        attachments_dir: Path | None,
        skip_attachments: bool,
        **options: Any,
    ) -> None:
        destination = None if skip_attachments else (attachments_dir or settings.ATTACHMENT_DIR)
        try:
            result = restore_backup(
                set_from_path(file), database, force=force, attachments_dir=destination
            )
        except BackupError as exc:
            raise CommandError(f"restore failed: {exc}") from None
        counts = result.manifest["row_counts"]
        self.stdout.write(
            f"restored {result.backup_set.base} into {result.target}: {len(counts)} tables, "
            f"{sum(counts.values())} rows"
            + (
                f"; {result.attachments['files']} attachment files into {destination}"
                if result.attachments
                else ""
            )
        )
