"""Session state between the two login steps, and sudo mode.

After the password step the session holds only a *pending* login (user id, when, where to
go next); the user is not logged in until a second factor is verified, so every part of
the site (views, admin, websockets) sees an anonymous visitor until then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils.crypto import constant_time_compare

from accounts.models import TOTPDevice

PENDING = "pending_login"
SUDO_AT = "sudo_at"


@dataclass(frozen=True)
class PendingLogin:
    user: Any
    backend: str
    started_at: int
    next_url: str
    enrolled: bool  # has a confirmed authenticator: verify; otherwise: enrol first


def pending_limit(enrolled: bool) -> int:
    return settings.LOGIN_PENDING_SECONDS if enrolled else settings.ENROLMENT_PENDING_SECONDS


def begin(request: HttpRequest, user: Any, *, next_url: str) -> None:
    """The password was right: start a fresh session (new id) holding only the pending login."""
    request.session.flush()
    request.session[PENDING] = {
        "user_id": user.pk,
        "backend": user.backend,
        "at": int(time.time()),
        "next": next_url,
        # Like a logged-in session, a half-login ends when the password changes.
        "hash": user.get_session_auth_hash(),
    }
    # Abandoned half-logins are cleaned up by clearsessions soon after they expire.
    request.session.set_expiry(settings.ENROLMENT_PENDING_SECONDS + 60)
    rotate_token(request)


def get(request: HttpRequest) -> PendingLogin | None:
    """The pending login, or None if there is none or it has expired (then it is cleared)."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None
    try:
        started_at = int(data["at"])
        user = get_user_model().objects.filter(pk=data["user_id"], is_active=True).first()
        backend = str(data["backend"])
        if user is not None and not constant_time_compare(
            str(data["hash"]), user.get_session_auth_hash()
        ):
            user = None
    except (KeyError, TypeError, ValueError):
        user = None
    if user is None:
        clear(request)
        return None
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if time.time() - started_at >= pending_limit(enrolled):
        clear(request)
        request.pending_login_expired = True
        return None
    return PendingLogin(user, backend, started_at, str(data.get("next") or ""), enrolled)


def clear(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)


def sudo_active(request: HttpRequest, now: float | None = None) -> bool:
    """True for SUDO_SECONDS after the password was re-entered in this session."""
    at = request.session.get(SUDO_AT)
    now = time.time() if now is None else now
    return isinstance(at, int | float) and 0 <= now - at < settings.SUDO_SECONDS


def grant_sudo(request: HttpRequest) -> None:
    request.session[SUDO_AT] = int(time.time())
