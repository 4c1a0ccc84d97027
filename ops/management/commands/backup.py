"""manage.py backup: an encrypted backup set of the database (attachments included), for cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backups.dump import create_backup
from ops.gpg import BackupError


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump or SQLite online backup; attachments live in it), "
        "GPG-encrypted for BACKUP_GPG_PUBLIC_KEY_FILE, into BACKUP_DIR; then delete our own "
        "backups older than --keep-days (never the newest good one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep-days",
            type=int,
            default=None,
            help="Retention in days (default BACKUP_KEEP_DAYS).",
        )

    def handle(self, *args: Any, keep_days: int | None, **options: Any) -> None:
        if keep_days is not None and keep_days < 1:
            raise CommandError("--keep-days must be at least 1")
        try:
            result = create_backup(keep_days=keep_days)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        self.stdout.write(
            f"backup {result.backup_set.base}: {result.size} bytes, "
            f"{len(manifest['row_counts'])} tables, {sum(manifest['row_counts'].values())} rows"
            f", encrypted for {', '.join(manifest['recipients'])}"
        )
        for name in result.pruned:
            self.stdout.write(f"deleted expired backup {name}")
