"""Where the audit chain's head is remembered outside its table, and the check against it.

A chain cut off at the end (or emptied with TRUNCATE) is still a valid chain: only a record
of a later head kept elsewhere shows what is missing. Each backup manifest carries the head
at the dump's snapshot (``audit_head``), the monitor's state file the head it last verified,
and every security log line ``seq=``/``hash=``. ``verifyaudit`` and ``monitor`` compare the
table with the newest anchors they can read, with no flags.

After a deliberate restore of an older backup the newer anchors rightly say rows are missing.
``verifyaudit --reanchor --reason …`` then appends an ``audit_reanchored`` event to the chain
(signed like every row) naming the anchors it supersedes; from then on those anchors (that
seq with that hash) are not compared any more, every other one still is.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from audit.chain import ChainResult, find_seq_hash, verify_chain

STATE_KEY = "audit_head"  # its entry in MONITOR_STATE_FILE
_HASH_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    source: str  # for messages: "the monitor state", "backup <name>"


def parse_head(value: Any) -> tuple[int, str] | None:
    """``{"seq": n, "hash": "<64 hex>"}`` as (seq, hash), or None if it is not one."""
    if not isinstance(value, dict):
        return None
    seq, digest = value.get("seq"), value.get("hash")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return None
    if not isinstance(digest, str) or not _HASH_RE.fullmatch(digest):
        return None
    return seq, digest


def state_file_anchor() -> Anchor | None:
    """The head the monitor last verified, from MONITOR_STATE_FILE (None if unreadable)."""
    try:
        raw = json.loads(Path(settings.MONITOR_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    head = parse_head(raw.get(STATE_KEY)) if isinstance(raw, dict) else None
    return Anchor(*head, "the monitor state") if head else None


def backup_anchor() -> Anchor | None:
    """The head recorded in the newest authentic backup manifest (None without one)."""
    from ops.backups.manifest import authentic_manifest, latest_set
    from ops.gpg import BackupError

    try:
        backup_set, _ = latest_set()
        manifest = authentic_manifest(backup_set)
    except (BackupError, OSError):
        return None
    head = parse_head(manifest.get(STATE_KEY))
    return Anchor(*head, f"backup {backup_set.base}") if head else None


def anchor_problem(result: ChainResult, anchors: list[Anchor]) -> str | None:
    """Why the table does not reach or does not match an anchor; None when every one holds."""
    for anchor in sorted(anchors, key=lambda a: -a.seq):
        if anchor.seq > result.last_seq:
            ends = f"ends at seq {result.last_seq}" if result.last_seq else "is empty"
            return (
                f"the chain {ends} but {anchor.source} recorded seq {anchor.seq}: "
                "rows were cut off its end (or the table was emptied)"
            )
        stored = find_seq_hash(anchor.seq)
        if stored is None or not hmac.compare_digest(stored, anchor.hash):
            return f"row {anchor.seq} differs from the one {anchor.source} recorded"
    return None


REANCHORED = "audit_reanchored"


def superseded() -> set[tuple[int, str]]:
    """The anchors (seq, hash) that ``audit_reanchored`` events in the chain set aside."""
    from audit.models import SecurityEvent

    found = set()
    for details in SecurityEvent.objects.filter(action=REANCHORED).values_list(
        "details", flat=True
    ):
        for item in details.get("superseded", []) if isinstance(details, dict) else []:
            if head := parse_head(item):
                found.add(head)
    return found


def verify_anchored(batch_size: int = 2000) -> tuple[ChainResult, str | None, list[Anchor]]:
    """Verify the chain, then compare it with every anchor found that no re-anchoring set
    aside: (result, problem, anchors)."""
    result = verify_chain(batch_size=batch_size)
    anchors = [a for a in (state_file_anchor(), backup_anchor()) if a is not None]
    if anchors and result.ok:
        aside = superseded()
        anchors = [a for a in anchors if (a.seq, a.hash) not in aside]
    problem = anchor_problem(result, anchors) if result.ok else None
    return result, problem, anchors


def reanchor(*, reason: str, username: str) -> tuple[ChainResult, list[Anchor]]:
    """Set aside every anchor the (otherwise intact) chain no longer matches, with a signed
    ``audit_reanchored`` event; returns the chain's state and the anchors set aside (none
    when every anchor holds: then nothing is recorded)."""
    from audit.events import record_event

    result, problem, anchors = verify_anchored()
    if not result.ok or problem is None:
        return result, []
    stale = [a for a in anchors if anchor_problem(result, [a])]
    record_event(
        REANCHORED,
        username=username,
        resource=f"audit:seq {result.last_seq}",
        details={
            "reason": reason,
            "superseded": [{"seq": a.seq, "hash": a.hash, "source": a.source} for a in stale],
        },
    )
    return result, stale
