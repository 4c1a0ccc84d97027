"""Login lockouts: django-axes hooks (how usernames are counted, the locked-out answer, HTTP
429) and the per-username limit across all addresses.

django-axes locks a username + client pair (an IPv6 client counts as its /64). An attacker
spreading guesses over many addresses is slowed by the per-username limit instead: once a
username failed LOGIN_USERNAME_FAILURE_LIMIT times within an hour, from anywhere, its password
is checked at most once per LOGIN_USERNAME_DELAY_SECONDS. Refused attempts are not counted
and do not restart the wait, so nobody can keep an account shut; the password alone never
signs anybody in (the second factor follows).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import LoginFailureMinute
from ticketsystem.clientip import client_network

USERNAME_WINDOW = timedelta(hours=1)


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
        username=lockout_username(request, credentials), ip_address=client_network(request)
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


def _username_key(username: str) -> str:
    """What a username is counted under: no NUL (PostgreSQL text cannot hold it), at most
    the column's 150 characters (a typed username can be anything)."""
    return str(username or "").replace("\x00", "\ufffd")[:150]


def record_username_failure(username: str, now: datetime | None = None) -> None:
    """Count one failed password check for ``username`` (from any address)."""
    username = _username_key(username)
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    rows = LoginFailureMinute.objects.filter(username=username, minute=minute)
    if not rows.update(failures=F("failures") + 1, last_at=now):
        try:
            with transaction.atomic():
                LoginFailureMinute.objects.create(
                    username=username, minute=minute, failures=1, last_at=now
                )
        except IntegrityError:  # created by a concurrent failure in between
            rows.update(failures=F("failures") + 1, last_at=now)
    LoginFailureMinute.objects.filter(minute__lt=now - USERNAME_WINDOW).delete()


def username_wait_seconds(username: str, now: datetime | None = None) -> int | None:
    """Seconds until ``username`` may have its password checked again, or None."""
    username = _username_key(username)
    now = now or timezone.now()
    recent = LoginFailureMinute.objects.filter(
        username=username, minute__gt=now - USERNAME_WINDOW
    ).aggregate(total=Sum("failures"), last=Max("last_at"))
    if (recent["total"] or 0) < settings.LOGIN_USERNAME_FAILURE_LIMIT:
        return None
    remaining = settings.LOGIN_USERNAME_DELAY_SECONDS - (now - recent["last"]).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None


def login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    """user_login_failed receiver: every failed check counts for the username."""
    record_username_failure(lockout_username(request, credentials))


def username_delayed_response(request: HttpRequest, seconds: int) -> HttpResponse:
    """The answer while a username's password checks are spaced out: 429 and Retry-After."""
    response = render(request, "accounts/login_delayed.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response
