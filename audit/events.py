"""record_event(): the one way to write a security event.

Call it inside the transaction of the change it describes; the row and the change commit
or roll back together. The same event is written as one line to the
``ticketsystem.security`` logger (format documented in docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from base64 import urlsafe_b64decode
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import SecurityEvent
from ticketsystem.clientip import client_ip, user_agent

logger = logging.getLogger("ticketsystem.security")
GENESIS = "0" * 64
# Serialises chain appends across processes (pg_advisory_xact_lock key).
CHAIN_LOCK_ID = 0x7A11_0001


def _chain_key() -> bytes:
    raw = settings.AUDIT_HMAC_KEY
    return urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def canonical_content(event: SecurityEvent) -> bytes:
    """The bytes the chain HMAC covers: every column but the hashes, in a fixed form."""
    content = {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "resource": event.resource,
        "details": event.details,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, event: SecurityEvent) -> str:
    message = prev_hash.encode() + b"\n" + canonical_content(event)
    return hmac.new(_chain_key(), message, hashlib.sha256).hexdigest()


def _escape(value: Any) -> str:
    """Log-safe text: no newlines or control characters, quotes escaped."""
    return json.dumps(str(value), ensure_ascii=True)[1:-1]


def log_line(event: SecurityEvent) -> str:
    return (
        f'action={event.action} user="{_escape(event.actor_username)}" '
        f"ip={event.ip or '-'} resource=\"{_escape(event.resource)}\" "
        f"request_id={event.request_id or '-'} seq={event.seq}"
    )


def record_event(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    resource: str = "",
    details: dict[str, Any] | None = None,
    username: str = "",
    ip: str | None = None,
) -> SecurityEvent:
    """Append a security event to the chain. Never put secrets or decrypted data in details."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
        last = SecurityEvent.objects.order_by("-seq").values("seq", "hash").first()
        event = SecurityEvent(
            seq=(last["seq"] + 1) if last else 1,
            created_at=timezone.now(),
            actor=actor,
            actor_username=(actor.get_username() if actor else username)[:150],
            action=action,
            resource=resource[:200],
            details=details or {},
            ip=ip if ip is not None else (client_ip(request) if request is not None else None),
            user_agent=user_agent(request) if request is not None else "",
            request_id=getattr(request, "id", "") if request is not None else "",
            prev_hash=last["hash"] if last else GENESIS,
        )
        event.hash = chain_hash(event.prev_hash, event)
        event.save(force_insert=True)
        line = log_line(event)
        transaction.on_commit(lambda: logger.info(line))
    return event
