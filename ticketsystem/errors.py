"""The 500 page: static, with the request's incident id (its X-Request-ID)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponseServerError:
    """Render 500.html without context processors: the database may be what failed."""
    incident = getattr(request, "id", "")
    return HttpResponseServerError(loader.get_template("500.html").render({"incident": incident}))
