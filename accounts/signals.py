"""What accounts announces to the rest of the site, so that accounts imports no other app.

Both are sent inside the transaction that ends the sessions; a receiver that acts outside
the database (closing websockets) defers that with ``transaction.on_commit``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.dispatch import Signal

# Login sessions ended (logout, revocation, expiry, a password change).
# Arguments: session_keys (list[str]), reason (str).
sessions_ended = Signal()
# Every session of one user ended (deactivation, 2FA reset). Arguments: user_id, reason.
user_sessions_ended = Signal()


def announce_sessions_ended(session_keys: list[str], *, reason: str) -> None:
    """Tell receivers (the live layer) that these sessions ended."""
    keys = [key for key in session_keys if key]
    if keys:
        sessions_ended.send(sender=get_user_model(), session_keys=keys, reason=reason)


def announce_user_sessions_ended(user_id: int, *, reason: str) -> None:
    """Tell receivers (the live layer) that every session of this user ended."""
    user_sessions_ended.send(sender=get_user_model(), user_id=user_id, reason=reason)
