from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.events import record_event
from ops.cli import check_batch_size, cli_username
from ticketsystem.cipher import get_keyring
from ticketsystem.crypto import encrypted_fields
from ticketsystem.keyrotation import FieldRotation, pending, remaining_key_ids, rotate_field

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value under the current key (the first entry of "
        "FIELD_ENCRYPTION_KEYS), in batches of one transaction each. Safe to interrupt and "
        "re-run: it continues with the values still sealed under an old key. When it reports "
        "that no value uses an old key any more, that key can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument(
            "--max-batches", type=int, help="stop after this many batches per field (resume later)"
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what needs rotating")

    def handle(
        self, *args: Any, batch_size: int, max_batches: int | None, dry_run: bool, **options: Any
    ) -> None:
        check_batch_size(batch_size)
        if max_batches is not None and max_batches < 1:
            raise CommandError("--max-batches must be at least 1")
        ring = get_keyring()
        fields = list(encrypted_fields())
        if dry_run:
            for field in fields:
                self.stdout.write(f"{field.aad_label}: {pending(field).count()} to re-encrypt")
            return
        self.stdout.write(f"current key: {ring.current_id}")
        results = [self._rotate(field, batch_size, max_batches) for field in fields]
        rotated = sum(r.rotated for r in results)
        failed = sum(r.failed for r in results)
        complete = all(r.finished for r in results)
        record_event(
            "keys_rotated",
            username=cli_username(),
            resource=f"key:{ring.current_id}",
            details={"rotated": rotated, "failed": failed, "complete": complete and not failed},
        )
        if failed:
            raise CommandError(
                f"{failed} value(s) could not be decrypted and were left as they are "
                "(decrypt_failed events recorded); keep the old keys until they are resolved"
            )
        if not complete:
            self.stdout.write(
                f"re-encrypted {rotated} value(s); stopped early: run again to continue"
            )
            return
        old = sorted(set(ring.keys) - remaining_key_ids() - {ring.current_id})
        self.stdout.write(
            f"re-encrypted {rotated} value(s); every value is sealed under {ring.current_id}"
        )
        if old:
            self.stdout.write(
                f"no value uses these keys any more; they can be removed: {', '.join(old)}"
            )

    def _rotate(self, field: Any, batch_size: int, max_batches: int | None) -> FieldRotation:
        tty = self.stdout.isatty()

        def show(progress: FieldRotation) -> None:
            done = progress.rotated + progress.failed
            total = max(progress.total, done)
            share = done / total if total else 1.0
            filled = round(BAR_WIDTH * share)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"{progress.label:<32} [{bar}] {share:4.0%} {done}/{total}"
            if progress.failed:
                line += f" ({progress.failed} failed)"
            self.stdout.write(("\r" + line) if tty else line, ending="" if tty else "\n")

        result = rotate_field(field, batch_size=batch_size, max_batches=max_batches, on_batch=show)
        if result.total == 0:
            show(result)
        if tty:
            self.stdout.write("")
        return result
