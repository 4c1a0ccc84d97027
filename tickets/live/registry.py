"""This process's open dashboard sockets: the caps per login session and per user, and the
exact open-sockets gauge (a socket is in it from admission until its consumer ends, on every
exit path; a restarted process starts from zero, so the gauge never drifts)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from prometheus_client import Gauge

# Not registered anywhere: ops/metrics reads open_count(); with PROMETHEUS_MULTIPROC_DIR the
# multi-process collector sums the live processes' values ("livesum").
OPEN_GAUGE = Gauge(
    "ticketsystem_websockets_open",
    "Open dashboard websockets (live server processes).",
    multiprocess_mode="livesum",
    registry=None,
)


class SocketRegistry:
    """Who holds which open socket in this process (one event loop per process: no locks)."""

    def __init__(self) -> None:
        self.sockets: dict[Any, tuple[str, int]] = {}
        self.per_session: Counter[str] = Counter()
        self.per_user: Counter[int] = Counter()

    def claim(self, socket: Any, *, session_key: str, user_id: int) -> str | None:
        """Register a socket; the refusal reason if its session or user is at the cap."""
        if socket in self.sockets:
            return None
        if self.per_session[session_key] >= settings.LIVE_MAX_SOCKETS_PER_SESSION:
            return "too_many_sockets_session"
        if self.per_user[user_id] >= settings.LIVE_MAX_SOCKETS_PER_USER:
            return "too_many_sockets_user"
        self.sockets[socket] = (session_key, user_id)
        self.per_session[session_key] += 1
        self.per_user[user_id] += 1
        OPEN_GAUGE.inc()
        return None

    def release(self, socket: Any) -> None:
        """Forget a socket (idempotent: every exit path may call it)."""
        entry = self.sockets.pop(socket, None)
        if entry is None:
            return
        session_key, user_id = entry
        self.per_session[session_key] -= 1
        if self.per_session[session_key] <= 0:
            del self.per_session[session_key]
        self.per_user[user_id] -= 1
        if self.per_user[user_id] <= 0:
            del self.per_user[user_id]
        OPEN_GAUGE.dec()


registry = SocketRegistry()


def open_count() -> int:
    """Open dashboard sockets in this process."""
    return len(registry.sockets)
