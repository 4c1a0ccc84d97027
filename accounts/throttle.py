"""Per-user request throttle for endpoints that write or search (HTTP 429 past the rate).

Counts live in the shared cache (Redis in production), in fixed one-minute windows, so
every server process counts against the same limit. Rates: settings.THROTTLE_RATES. While
the cache is unreachable each process counts on its own (a warning, once per outage), so a
Redis outage slows nobody down and fails no write or search.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis import RedisError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class LocalCounts:
    """The per-process fallback: counts of the current window only, behind a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = -1
        self.counts: dict[str, int] = {}
        self.in_use = False  # True from the first failure until the cache answers again

    def incr(self, key: str, window: int) -> int:
        with self.lock:
            if window != self.window:
                self.window, self.counts = window, {}
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]


local_counts = LocalCounts()


def _shared_incr(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        return 1


def count(key: str, window: int) -> int:
    """This window's count for key: shared through the cache, per process while it is down."""
    try:
        value = _shared_incr(key)
    except (RedisError, OSError) as exc:
        if not local_counts.in_use:
            local_counts.in_use = True
            logger.warning("throttle: cache unreachable (%s); counting per process", exc)
        return local_counts.incr(key, window)
    if local_counts.in_use:
        local_counts.in_use = False
        logger.warning("throttle: cache reachable again; counting shared")
    return value


def hit(
    scope: str, user_id: Any, now: float | None = None, *, rate: int | None = None
) -> int | None:
    """Count one request; return seconds to wait if it is over the rate, else None.

    ``rate`` (per minute) defaults to THROTTLE_RATES[scope].
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    limit = settings.THROTTLE_RATES[scope] if rate is None else rate
    if count(f"throttle:{scope}:{user_id}:{window}", window) > limit:
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
