"""When a login session ends, decided in one place for HTTP requests and websockets.

The session holds two timestamps (seconds since the epoch, UTC): when the password step
succeeded (``auth_at``) and the last authenticated request (``last_seen``). A session ends
after SESSION_ABSOLUTE_SECONDS since login (default 8 h) or SESSION_IDLE_SECONDS without a
request (default 30 min), whatever the cookie's own expiry says.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

AUTH_AT = "auth_at"
LAST_SEEN = "last_seen"
# Copied into the UserSession row (accounts/session_store.py) for the sessions page.
SID = "sid"
SID_RE = re.compile(r"^[0-9a-f]{32}$")  # secrets.token_hex(16), as stamp_verified makes them
CLIENT_IP = "client_ip"
CLIENT_UA = "client_ua"
# last_seen is written at most this often, so a busy page does not write the session on
# every request; the idle timeout is exact to within this many seconds.
TOUCH_INTERVAL = 60


def session_end_reason(session: Mapping[str, Any], now: float | None = None) -> str | None:
    """None while the session is valid; otherwise why it ended ("absolute" or "idle")."""
    now = time.time() if now is None else now
    auth_at = session.get(AUTH_AT)
    last_seen = session.get(LAST_SEEN, auth_at)
    if not isinstance(auth_at, int | float) or not isinstance(last_seen, int | float):
        return "absolute"  # a session without our timestamps was not made by our login
    if now - auth_at >= settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if now - last_seen >= settings.SESSION_IDLE_SECONDS:
        return "idle"
    return None


def verified_device_owners(persistent_ids: Iterable[Any]) -> dict[str, int]:
    """{persistent id: user id} of the confirmed devices among these django-otp ids
    (``otp_totp.totpdevice/12``): django-otp's "verified" rule, one query per device model."""
    by_model: dict[Any, dict[int, str]] = {}
    for pid in {pid for pid in persistent_ids if isinstance(pid, str)}:
        try:
            label, raw_id = pid.rsplit("/", 1)
            model = apps.get_model(label)
            if issubclass(model, Device):
                by_model.setdefault(model, {})[int(raw_id)] = pid
        except (ValueError, LookupError):
            continue
    owners: dict[str, int] = {}
    for model, ids in by_model.items():
        rows = model.objects.filter(pk__in=ids, confirmed=True).values_list("pk", "user_id")
        for pk, user_id in rows:
            owners[ids[pk]] = user_id
    return owners


def login_end_reason(
    session: Mapping[str, Any] | None,
    *,
    user_id: int,
    user: Any,
    device_owners: Mapping[str, int],
    now: float | None = None,
) -> str | None:
    """None while ``session`` still logs in ``user`` with a verified second factor; otherwise
    why not: "ended", "absolute", "idle", "inactive", "password_changed" or
    "no_second_factor".

    The rules every request passes (our timeouts, Django's session auth hash, django-otp's
    verified device), for a session read outside a request (websockets). ``user`` is the
    user ``user_id`` names (None if gone); ``device_owners`` comes from verified_device_owners.
    """
    if session is None or str(session.get(SESSION_KEY)) != str(user_id):
        return "ended"
    if reason := session_end_reason(session, now):
        return reason
    if user is None or not user.is_active:
        return "inactive"
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return "password_changed"
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    if not isinstance(device_id, str) or device_owners.get(device_id) != user_id:
        return "no_second_factor"
    return None


def start(session: Any, now: float | None = None) -> None:
    """Stamp a session at login."""
    now = time.time() if now is None else now
    session[AUTH_AT] = int(now)
    session[LAST_SEEN] = int(now)


def touch(session: Any, now: float | None = None) -> None:
    session[LAST_SEEN] = int(time.time() if now is None else now)


def touch_if_due(session: Mapping[str, Any] | Any, now: float | None = None) -> None:
    """Record activity, at most once per TOUCH_INTERVAL."""
    now = time.time() if now is None else now
    last_seen = session.get(LAST_SEEN)
    if not isinstance(last_seen, int | float) or now - last_seen >= TOUCH_INTERVAL:
        touch(session, now)


def stamp_verified(
    session: Any,
    *,
    device: Any,
    auth_at: float | None = None,
    ip: str | None = None,
    user_agent: str = "",
    now: float | None = None,
) -> None:
    """Mark a logged-in session as verified by ``device`` (django-otp's session key) and
    stamp it for the timeouts and the sessions page. The cookie and the stored session
    expire with the absolute lifetime."""
    now = time.time() if now is None else now
    auth_at = now if auth_at is None else auth_at
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    start(session, now)
    session[AUTH_AT] = int(auth_at)
    session[SID] = secrets.token_hex(16)
    session[CLIENT_IP] = ip
    session[CLIENT_UA] = (user_agent or "")[:512]
    session.set_expiry(datetime.fromtimestamp(auth_at + settings.SESSION_ABSOLUTE_SECONDS, tz=UTC))
