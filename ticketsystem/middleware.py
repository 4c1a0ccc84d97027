"""Project-wide middleware."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ticketsystem.logfilters import current_request_id

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class HeaderNulMiddleware:
    """Replace NUL in request header values with a space, as RFC 9110 (section 5.5) tells a
    recipient to. Header values reach the database (user agents in lockout records and the
    sessions list) and PostgreSQL refuses NUL in text: a NUL in User-Agent made a failed
    login a 500 that axes never counted, and a correct one a 400. (daphne and nginx refuse
    such headers themselves; the application does not count on it.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                request.META[key] = value.replace("\x00", " ")
        return self.get_response(request)


class RequestIdMiddleware:
    """Give every request an id (kept from a well-formed X-Request-ID set by our proxy).

    The id appears in the response header, the 500 page (as the incident id), every log
    record of the request, the security log and audit events, so one request can be
    followed across nginx, the app and the audit trail.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response
