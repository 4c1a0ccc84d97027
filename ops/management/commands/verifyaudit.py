from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import find_seq_hash
from ops.audit_anchors import reanchor, verify_anchored
from ops.cli import check_batch_size, cli_username


class Command(BaseCommand):
    help = (
        "Verify the security event hash chain. Exits non-zero naming the first bad row, or "
        "when the chain falls short of (or differs from) the head recorded outside the table "
        "in MONITOR_STATE_FILE or the newest backup manifest. With --checkpoint FILE, also checks that the row recorded there by the last "
        "successful run is still present and unchanged (rows cut off the end), then "
        "updates the file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint", type=Path, help="file remembering the last verified row"
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--reanchor",
            metavar="REASON",
            help="after a deliberate restore of an older backup: record (as a signed event) "
            "that the anchors the intact chain no longer reaches are set aside, and why",
        )

    def handle(
        self,
        *args: Any,
        checkpoint: Path | None,
        batch_size: int,
        reanchor: str | None,
        **options: Any,
    ) -> None:
        check_batch_size(batch_size)
        if reanchor is not None:
            self._reanchor(reanchor)
            return
        remembered = self._read_checkpoint(checkpoint) if checkpoint else None
        result, problem, anchors = verify_anchored(batch_size=batch_size)
        if not result.ok:
            raise CommandError(
                f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason} "
                f"({result.checked} rows verified before it)"
            )
        if problem:
            raise CommandError(f"audit chain BROKEN: {problem}")
        if remembered is not None:
            seq, expected = remembered
            stored = find_seq_hash(seq)
            if stored is None or stored != expected:
                what = "is missing" if stored is None else "has a different hash"
                raise CommandError(
                    f"audit chain BROKEN at seq {seq}: the checkpointed row {what} "
                    f"(the chain now ends at seq {result.last_seq})"
                )
        if checkpoint is not None and result.last_seq:
            self._write_checkpoint(checkpoint, result.last_seq, result.last_hash)
        against = "; ".join(f"{a.source} (seq {a.seq})" for a in anchors) or "no anchor found"
        self.stdout.write(
            f"audit chain OK: {result.checked} events verified, last seq {result.last_seq}; "
            f"head matches {against}"
        )

    def _reanchor(self, reason: str) -> None:
        reason = " ".join(reason.split())
        if not 10 <= len(reason) <= 200:
            raise CommandError("--reanchor: give the reason in 10 to 200 characters")
        result, stale = reanchor(reason=reason, username=cli_username())
        if not result.ok:
            raise CommandError(
                f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}; "
                "a broken chain cannot be re-anchored"
            )
        if not stale:
            self.stdout.write("nothing to re-anchor: the chain matches every anchor")
            return
        aside = "; ".join(f"{a.source} (seq {a.seq})" for a in stale)
        self.stdout.write(f"audit chain re-anchored at seq {result.last_seq}; set aside: {aside}")

    def _read_checkpoint(self, path: Path) -> tuple[int, str] | None:
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return int(data["seq"]), str(data["hash"])
        except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise CommandError(f"cannot read checkpoint {path}: {exc}") from None

    def _write_checkpoint(self, path: Path, seq: int, digest: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"seq": seq, "hash": digest}, handle)
            os.replace(tmp, path)
        except OSError as exc:
            raise CommandError(f"cannot write checkpoint {path}: {exc.strerror}") from None
