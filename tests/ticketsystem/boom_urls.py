"""The project's URLs plus a view that fails like a database outage (for the 500 tests)."""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from ticketsystem import urls


def boom(request: HttpRequest) -> HttpResponse:
    logging.getLogger("tickets.views").warning("about to fail")
    raise OperationalError("connection to server at 127.0.0.1 port 5432 failed")


urlpatterns = [path("boom/", boom), *urls.urlpatterns]
handler500 = urls.handler500
