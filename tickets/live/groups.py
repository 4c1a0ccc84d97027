"""Channel-layer group names: who receives which live message.

Group names travel through Redis, so they carry ids only (session keys hashed).
"""

from __future__ import annotations

import hashlib

# Managers and admins see every queue: their sockets join this one group instead of one per
# queue, so a queue created later reaches them too and each event reaches them once.
ALL_QUEUES_GROUP = "queue_all"


def queue_group(queue_id: int) -> str:
    """Sockets that may see one queue's tickets (through their process's hub)."""
    return f"queue_{queue_id}"


def ticket_group(ticket_id: int) -> str:
    """Sockets showing one ticket's page (presence: who else has it open)."""
    return f"ticket_{ticket_id}"


def user_group(user_id: int) -> str:
    """Every socket of one user (deactivation, 2FA reset, changed queues or roles)."""
    return f"user_{user_id}"


def session_group(session_key: str) -> str:
    """Group of the sockets opened under one login session (the key is hashed: group names
    travel through Redis and must not reveal session keys)."""
    return "session_" + hashlib.sha256(session_key.encode()).hexdigest()[:32]
