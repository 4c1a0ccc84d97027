"""Verifying the security event chain."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from audit.events import GENESIS, chain_hash
from audit.models import SecurityEvent


@dataclass(frozen=True)
class ChainResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> ChainResult:
    """Walk the whole chain in order; report the first row whose link or HMAC is wrong.

    Detects an edited row (its HMAC no longer matches), a deleted row (a gap in ``seq`` and
    a broken ``prev_hash`` link) and an inserted row (its HMAC cannot be forged without
    AUDIT_HMAC_KEY, and it breaks the next row's link).
    """
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = list(SecurityEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not rows:
            return ChainResult(ok=True, checked=checked)
        for event in rows:
            if event.seq != expected_seq:
                return ChainResult(
                    False,
                    checked,
                    event.seq,
                    f"expected seq {expected_seq}, found {event.seq} (row missing)",
                )
            if not hmac.compare_digest(event.prev_hash, expected_prev):
                return ChainResult(False, checked, event.seq, "link to the previous row is broken")
            if not hmac.compare_digest(event.hash, chain_hash(event.prev_hash, event)):
                return ChainResult(
                    False, checked, event.seq, "row content does not match its HMAC (edited)"
                )
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
        last_seq = rows[-1].seq
