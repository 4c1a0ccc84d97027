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
    last_seq: int = 0
    last_hash: str = ""


def verify_chain(batch_size: int = 2000) -> ChainResult:
    """Walk the whole chain in order; report the first row whose link or HMAC is wrong.

    Detects an edited row (its HMAC no longer matches), a deleted row (a gap in ``seq`` and
    a broken ``prev_hash`` link) and an inserted row (its HMAC cannot be forged without
    AUDIT_HMAC_KEY, and it breaks the next row's link). Rows cut off the end of the chain
    leave a valid shorter chain: compare ``last_seq``/``last_hash`` with a checkpoint or with
    the ``seq=``/``hash=`` fields of the shipped security log (``verifyaudit --checkpoint``).
    """
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = list(SecurityEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not rows:
            return ChainResult(ok=True, checked=checked, last_seq=last_seq, last_hash=expected_prev)
        for event in rows:
            if event.seq > expected_seq:
                return ChainResult(
                    False,
                    checked,
                    expected_seq,
                    f"row {expected_seq} is missing (deleted); the next row is {event.seq}",
                )
            if event.seq != expected_seq:
                return ChainResult(False, checked, event.seq, "rows out of order")
            if not hmac.compare_digest(event.prev_hash, expected_prev):
                return ChainResult(False, checked, event.seq, "link to the previous row is broken")
            if not hmac.compare_digest(event.hash, chain_hash(event.prev_hash, event)):
                return ChainResult(
                    False,
                    checked,
                    event.seq,
                    "row content does not match its HMAC (edited or forged)",
                )
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
        last_seq = rows[-1].seq


def find_seq_hash(seq: int) -> str | None:
    """The stored hash of row ``seq`` (for checkpoint comparison), or None if it is gone."""
    return SecurityEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
