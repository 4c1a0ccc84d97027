"""Who is acting, and from where, for django-auditlog entries and decrypt_failed events."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest

from ticketsystem.clientip import client_ip

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)


def current_request() -> HttpRequest | None:
    """The request being handled in this context, if any (None in commands and cron)."""
    return _current_request.get()


def current_request_id() -> str | None:
    """django-auditlog's correlation id: our request id, the one in the security log."""
    return getattr(current_request(), "id", None)


class AuditContextMiddleware(AuditlogMiddleware):
    """AuditlogMiddleware with our client-IP rules.

    The stock middleware trusts the left-most X-Forwarded-For entry and the client's
    X-Forwarded-Port, both of which the client controls; we use ticketsystem.clientip.
    """

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> int | None:
        return None

    def __call__(self, request: HttpRequest) -> Any:
        token = _current_request.set(request)
        try:
            return super().__call__(request)
        finally:
            _current_request.reset(token)
