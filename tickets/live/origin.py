"""The Origin check in front of every websocket: channels' AllowedHostsOriginValidator,
refusing a foreign Origin with close code 4403 and a security event instead of a bare close."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings

from tickets.live.admission import CLOSE_FORBIDDEN, Refusal, refuse, scope_origin


class OriginRefused(AsyncWebsocketConsumer):
    """Answers a websocket from a foreign Origin: a security event, then close 4403."""

    async def connect(self) -> None:
        await refuse(self, Refusal(CLOSE_FORBIDDEN, "origin"))


class AllowedHostsOriginValidator(OriginValidator):
    """channels' AllowedHostsOriginValidator (Origin must match ALLOWED_HOSTS), refusing with
    close code 4403 and a security event instead of a bare close."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("AllowedHostsOriginValidator only guards websockets")
        origin = scope_origin(scope)
        try:
            parsed = urlparse(origin) if origin else None
        except ValueError:
            parsed = None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await OriginRefused()(scope, receive, send)
