"""The Origin check in front of every websocket, refusing a foreign Origin with close code 4403
and a security event instead of a bare close.

In production only the exact origins the site serves pass: scheme, host and port, from
CSRF_TRUSTED_ORIGINS and ``https://<host>`` for each plain ALLOWED_HOSTS name (channels'
validator compares host names only, so ``http://host`` or ``https://host:4444`` passed).
In development channels' host-name check (ALLOWED_HOSTS) stays, for ``make run`` on any port.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings

from tickets.live.admission import CLOSE_FORBIDDEN, Refusal, refuse, scope_origin

DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginRefused(AsyncWebsocketConsumer):
    """Answers a websocket from a foreign Origin: a security event, then close 4403."""

    async def connect(self) -> None:
        await refuse(self, Refusal(CLOSE_FORBIDDEN, "origin"))


def exact_origin(value: str) -> str | None:
    """``scheme://host:port`` with the port spelled out; None for anything not http(s)."""
    try:
        parsed = urlparse(value.strip())
        port = parsed.port
    except ValueError:
        return None
    scheme, host = parsed.scheme.lower(), (parsed.hostname or "")
    if scheme not in DEFAULT_PORTS or not host or parsed.path not in ("", "/"):
        return None
    if parsed.username is not None or parsed.query or parsed.fragment:
        return None
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


def site_origins() -> frozenset[str]:
    """The exact origins this site serves (wildcard entries grant nothing here)."""
    candidates = [o for o in settings.CSRF_TRUSTED_ORIGINS if "*" not in o]
    candidates += [
        f"https://{host}" for host in settings.ALLOWED_HOSTS if host and host[0] not in "*."
    ]
    return frozenset(o for o in map(exact_origin, candidates) if o is not None)


class AllowedHostsOriginValidator(OriginValidator):
    """The Origin must be one the site serves (exact in production, by host name otherwise);
    refused with close code 4403 and a security event instead of a bare close."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    def allowed(self, origin: str) -> bool:
        if settings.PRODUCTION:
            exact = exact_origin(origin) if origin else None
            return exact is not None and exact in site_origins()
        try:
            parsed = urlparse(origin) if origin else None
        except ValueError:
            parsed = None
        return self.valid_origin(parsed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("AllowedHostsOriginValidator only guards websockets")
        if self.allowed(scope_origin(scope)):
            return await self.application(scope, receive, send)
        return await OriginRefused()(scope, receive, send)
