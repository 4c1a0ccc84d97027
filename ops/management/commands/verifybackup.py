"""manage.py verifybackup FILE | --latest: the restore drill, for a weekly cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backups.manifest import latest_set
from ops.backups.restore import RestoreResult, verify_backup
from ops.backups.sets import set_from_path
from ops.cli import Interrupted, exit_interrupted, interruptible
from ops.gpg import BackupError


class Command(BaseCommand):
    help = (
        "Check a backup's signed manifest and files, decrypt it with BACKUP_GPG_PRIVATE_KEY_FILE, "
        "restore it into a scratch database and compare row counts per table. Exits non-zero "
        "on any difference; manage.py monitor alerts on a failed drill."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("file", nargs="?", help="A backup's manifest or .gpg file.")
        which.add_argument(
            "--latest",
            action="store_true",
            help="The newest backup in BACKUP_DIR whose manifest is authentic (signed by us).",
        )

    def handle(self, *args: Any, file: str | None, latest: bool, **options: Any) -> None:
        try:
            with interruptible():
                result = self._drill(file, latest)
        except BackupError as exc:
            raise CommandError(f"restore drill failed: {exc}") from None
        except Interrupted as exc:
            raise exit_interrupted(exc, "restore drill") from None
        backup_set = result.backup_set
        counts = result.manifest["row_counts"]
        self.stdout.write(
            f"verified {backup_set.base}: restored into {result.target}, "
            f"{len(counts)} tables and {sum(counts.values())} rows match the manifest"
            + "".join(f"; {note}" for note in result.notes)
        )

    def _drill(self, file: str | None, latest: bool) -> RestoreResult:
        if latest:
            backup_set, skipped = latest_set()
            # A set that is not ours in BACKUP_DIR is worth a look: say so in the cron mail.
            for reason in skipped:
                self.stderr.write(f"skipped {reason}")
        else:
            backup_set = set_from_path(file or "")
        return verify_backup(backup_set)
