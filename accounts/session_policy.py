"""When a login session ends, decided in one place for HTTP requests and websockets.

The session holds two timestamps (seconds since the epoch, UTC): when the password step
succeeded (``auth_at``) and the last authenticated request (``last_seen``). A session ends
after SESSION_ABSOLUTE_SECONDS since login (default 8 h) or SESSION_IDLE_SECONDS without a
request (default 30 min), whatever the cookie's own expiry says.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings

AUTH_AT = "auth_at"
LAST_SEEN = "last_seen"


def session_end_reason(session: Mapping[str, Any], now: float | None = None) -> str | None:
    """None while the session is valid; otherwise why it ended ("absolute" or "idle")."""
    now = time.time() if now is None else now
    auth_at = session.get(AUTH_AT)
    last_seen = session.get(LAST_SEEN, auth_at)
    if not isinstance(auth_at, int | float) or not isinstance(last_seen, int | float):
        return "absolute"  # a session without our timestamps was not made by our login
    if now - auth_at >= settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if now - last_seen >= settings.SESSION_IDLE_SECONDS:
        return "idle"
    return None


def start(session: Any, now: float | None = None) -> None:
    """Stamp a session at login."""
    now = time.time() if now is None else now
    session[AUTH_AT] = int(now)
    session[LAST_SEEN] = int(now)


def touch(session: Any, now: float | None = None) -> None:
    session[LAST_SEEN] = int(time.time() if now is None else now)
