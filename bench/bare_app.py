"""A bare Django view (no middleware, no database): the framework's ceiling under a server.

    gunicorn -c ops/deploy/gunicorn.conf.py bench.bare_app:application
    daphne bench.bare_app:asgi_application

bench/http_load.py serves it next to the real app, so a reader sees how close the pages come.
"""

from __future__ import annotations

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="bench-bare-view-only-not-a-secret",  # noqa: S106 (serves "ok" only)
        MIDDLEWARE=[],
    )

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("", bare)]
application = get_wsgi_application()
asgi_application = get_asgi_application()
