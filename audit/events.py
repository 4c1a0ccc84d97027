"""record_event(): the one way to write a security event.

Call it inside the transaction of the change it describes, as late as possible (it takes the
chain lock until that transaction ends); the row and the change commit or roll back
together. The same event is written as one line to the ``ticketsystem.security`` logger
after commit (format documented in docs/security.md):

    action=<action> user="<escaped>" ip=<ip or -> resource="<escaped>" request_id=<id or -> seq=<n> hash=<16 hex>
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
from base64 import urlsafe_b64decode
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from audit.models import SecurityEvent
from ticketsystem.clientip import client_ip, user_agent

logger = logging.getLogger("ticketsystem.security")
GENESIS = "0" * 64
# Serialises chain appends across processes (pg_advisory_xact_lock key).
CHAIN_LOCK_ID = 0x7A11_0001
ACTION_RE = re.compile(r"^[a-z0-9_]{1,40}$")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ChainKeyMismatch(CommandError):
    """AUDIT_HMAC_KEY is not the key the chain was written with: nothing is appended.

    A CommandError, so a cron command that hits it ends with this one line and a non-zero
    exit; in a request it fails closed like any other misconfiguration.
    """


def _chain_key() -> bytes:
    raw = settings.AUDIT_HMAC_KEY
    return urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def normalise_ip(value: Any) -> str | None:
    """One spelling per address (IPv4-mapped IPv6 as IPv4), or None if it is no address."""
    if value in (None, ""):
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def canonical_content(event: SecurityEvent) -> bytes:
    """The bytes the chain HMAC covers: every column but the hashes, in a fixed form.

    Values are normalised the same way when writing and when verifying, so the database's
    own spelling of an address or a JSON document cannot break the chain.
    """
    content = {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "resource": event.resource,
        "details": event.details,
        "ip": normalise_ip(event.ip),
        "user_agent": event.user_agent,
        "request_id": event.request_id,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, event: SecurityEvent) -> str:
    message = prev_hash.encode() + b"\n" + canonical_content(event)
    return hmac.new(_chain_key(), message, hashlib.sha256).hexdigest()


def _escape(value: Any) -> str:
    """Log-safe text: no newlines or control characters, quotes escaped, and no ``=`` so a
    value can never contain a field such as ``ip=`` that a log filter might pick up."""
    return json.dumps(str(value), ensure_ascii=True)[1:-1].replace("=", "\\u003d")


def log_line(event: SecurityEvent) -> str:
    return (
        f'action={event.action} user="{_escape(event.actor_username)}" '
        f'ip={normalise_ip(event.ip) or "-"} resource="{_escape(event.resource)}" '
        f"request_id={event.request_id or '-'} seq={event.seq} hash={event.hash[:16]}"
    )


def _clean_text(value: Any, limit: int) -> str:
    """PostgreSQL text cannot hold NUL; attacker-supplied text may."""
    return str(value or "").replace("\x00", "\ufffd")[:limit]


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_clean_json(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def _request_id(request: Any) -> str:
    value = str(getattr(request, "id", "") or "") if request is not None else ""
    return value if _REQUEST_ID_RE.match(value) else ""


def _require_chain_key(head: SecurityEvent | None) -> None:
    """Prove our key wrote the chain's head before appending: a row signed with another key
    would break the chain for ever (the table is append-only)."""
    if head is None or hmac.compare_digest(head.hash, chain_hash(head.prev_hash, head)):
        return
    raise ChainKeyMismatch(
        f"AUDIT_HMAC_KEY does not match the audit chain (its last event, seq {head.seq}, was "
        "signed with another key or altered): nothing was recorded"
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
    """Append a security event to the chain. Never put secrets or decrypted data in details.

    ``actor`` is the authenticated user (or None); ``username`` names who it was about when
    there is no such user (a failed login). ``ip`` overrides the request's client address.
    """
    if not ACTION_RE.match(action):
        raise ValueError(f"invalid security event action {action!r}")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if ip is None and request is not None:
        ip = client_ip(request)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
        last_event = SecurityEvent.objects.order_by("-seq").first()
        _require_chain_key(last_event)
        last = {"seq": last_event.seq, "hash": last_event.hash} if last_event else None
        event = SecurityEvent(
            seq=(last["seq"] + 1) if last else 1,
            created_at=timezone.now(),
            actor=actor,
            actor_username=_clean_text(actor.get_username() if actor else username, 150),
            action=action,
            resource=_clean_text(resource, 200),
            details=_clean_json(details or {}),
            ip=normalise_ip(ip),
            user_agent=_clean_text(user_agent(request) if request is not None else "", 512),
            request_id=_request_id(request),
            prev_hash=last["hash"] if last else GENESIS,
        )
        event.hash = chain_hash(event.prev_hash, event)
        event.save(force_insert=True)
        line = log_line(event)
        transaction.on_commit(lambda: logger.info(line))
    return event
