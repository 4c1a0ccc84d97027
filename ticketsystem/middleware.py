"""Project-wide middleware."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from ticketsystem.logfilters import current_request_id

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class BodySizeLimitMiddleware:
    """Answer 413 to a request that declares a body over REQUEST_MAX_BODY_BYTES, before
    anything reads it (nginx refuses the same first; daphne's own cap: ticketsystem/asgibody.py).
    Without a Content-Length, Django reads no body under WSGI."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        cap = settings.REQUEST_MAX_BODY_BYTES
        if declared.isdigit() and int(declared) > cap:
            return HttpResponse(
                f"Request body too large: at most {cap} bytes.\n",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


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
