"""Per-user request throttle for endpoints that write or search (HTTP 429 past the rate).

Counts live in the shared cache (Redis in production), in fixed one-minute windows, so
every server process counts against the same limit. Rates: settings.THROTTLE_RATES.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

WINDOW_SECONDS = 60


def hit(scope: str, user_id: Any, now: float | None = None) -> int | None:
    """Count one request; return seconds to wait if it is over the rate, else None."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"throttle:{scope}:{user_id}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count > settings.THROTTLE_RATES[scope]:
        return max(1, int((window + 1) * WINDOW_SECONDS - now))
    return None


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(request, "accounts/throttled.html", {"seconds": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def throttle(
    scope: str,
    *,
    methods: Iterable[str] = ("POST",),
    when: Callable[[HttpRequest], bool] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Limit a view to THROTTLE_RATES[scope] requests per minute and user.

    Only requests with one of ``methods`` (and, if given, ``when(request)`` true) count.
    """
    methods = frozenset(methods)
    if scope not in settings.THROTTLE_RATES:
        raise ValueError(f"unknown throttle scope {scope!r}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if (
                request.method in methods
                and user.is_authenticated
                and (when is None or when(request))
            ):
                wait = hit(scope, user.pk)
                if wait is not None:
                    return too_many_requests(request, wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
