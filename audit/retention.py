"""Retention periods such as ``3y``, ``18m``, ``90d`` (stdlib only: settings import it)."""

from __future__ import annotations

import re
from datetime import timedelta

_PERIOD_RE = re.compile(r"^\s*(\d{1,4})\s*([dwmy])\s*$", re.IGNORECASE)
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
MAX_DAYS = 100 * 365


def parse_period(text: str) -> timedelta:
    """``<n>d`` days, ``<n>w`` weeks, ``<n>m`` months (30 days), ``<n>y`` years (365 days)."""
    match = _PERIOD_RE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a period like 90d, 12w, 18m or 3y")
    days = int(match.group(1)) * _DAYS[match.group(2).lower()]
    if days < 1:
        raise ValueError("the period must be at least one day")
    if days > MAX_DAYS:
        raise ValueError("the period must be at most 100 years")
    return timedelta(days=days)
