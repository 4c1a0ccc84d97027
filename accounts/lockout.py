"""django-axes hooks: how usernames are counted, and the locked-out answer (HTTP 429)."""

from __future__ import annotations

import math
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ticketsystem.clientip import client_ip


def normalise_username(value: Any) -> str:
    """Case and surrounding spaces do not make a new username: 'Alice ' counts as 'alice'.

    Empty and unknown usernames count like any other (as their own username + IP pair), so
    they cannot be used to lock out anybody else.
    """
    return str(value or "").strip().casefold()[:150]


def lockout_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """AXES_USERNAME_CALLABLE."""
    if credentials and credentials.get("username") is not None:
        return normalise_username(credentials["username"])
    if request is not None and request.method == "POST":
        return normalise_username(request.POST.get("username"))
    return ""


def retry_after_seconds(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Seconds until the username + IP pair of this request may try again."""
    cooloff = settings.AXES_COOLOFF_TIME.total_seconds()
    last = AccessAttempt.objects.filter(
        username=lockout_username(request, credentials), ip_address=client_ip(request)
    ).aggregate(last=Max("attempt_time"))["last"]
    if last is None:
        return int(cooloff)
    remaining = (last - timezone.now()).total_seconds() + cooloff
    return max(1, math.ceil(remaining))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a clear page with 429 and Retry-After."""
    seconds = retry_after_seconds(request, credentials)
    response = render(
        request,
        "accounts/locked_out.html",
        {"minutes": max(1, math.ceil(seconds / 60)), "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
