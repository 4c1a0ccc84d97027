"""Account writes: staff, second factors, passwords and login sessions.

Every change that matters records a security event in the same transaction; websockets of
ended sessions are closed after commit (announced with accounts/signals.py) and the user is told by email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation, update_session_auth_hash
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from accounts.models import BackupCodeDevice, TOTPDevice, UserSession, VerifyResult
from accounts.preferences import users_language
from accounts.signals import announce_sessions_ended, announce_user_sessions_ended
from audit.events import record_event
from ticketsystem.clientip import client_ip
from ticketsystem.crypto import is_undecryptable
from ticketsystem.roles import ADMIN, MANAGER, ROLES

logger = logging.getLogger(__name__)


def _resource(user: Any) -> str:
    return f"user:{user.pk}"


@transaction.atomic
def staff_create(*, actor: Any, username: str, password: str, role: str, email: str = "") -> Any:
    """Create a staff user with one role. Managers may use the admin site; admins are
    superusers. The password must pass every configured validator."""
    user_model = get_user_model()
    if role not in ROLES:
        raise ValidationError({"role": f"Role must be one of {', '.join(ROLES)}."})
    username = username.strip()
    user = user_model(
        username=username,
        email=email.strip(),
        is_staff=role in (MANAGER, ADMIN),
        is_superuser=role == ADMIN,
    )
    user.full_clean(exclude=["password"])  # includes the email address's format
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    record_event(
        "user_created",
        actor=actor,
        username=username,
        resource=_resource(user),
        details={"role": role},
    )
    return user


# --- Notifications ------------------------------------------------------------------------


def _notify(
    user: Any,
    *,
    what: str | Promise,
    request: HttpRequest | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Email the user that a security setting changed, after commit, in their own language.
    Never holds secrets."""
    if not user.email:
        return
    with users_language(user):
        body = render_to_string(
            "accounts/email/security_notice.txt",
            {
                "user": user,
                "what": str(what % params) if params else str(what),
                "when": timezone.now(),
                "ip": client_ip(request) if request is not None else None,
            },
        )
        subject = _("[%(site)s] Security change on your account") % {"site": settings.OTP_ISSUER}
    recipient = user.email

    def send() -> None:
        try:
            send_mail(subject, body, None, [recipient])
        except Exception:  # a mail outage must not undo a committed security change
            logger.exception("could not send a security notice to user %s", user.pk)

    transaction.on_commit(send)


# --- Sessions -----------------------------------------------------------------------------


def _end_sessions(sessions: QuerySet[UserSession], *, reason: str) -> list[str]:
    """Delete sessions (which logs them out) and close their websockets after commit."""
    keys = list(sessions.values_list("session_key", flat=True))
    if keys:
        UserSession.objects.filter(session_key__in=keys).delete()
        announce_sessions_ended(keys, reason=reason)
    return keys


def active_sessions(user: Any) -> QuerySet[UserSession]:
    """The user's sessions that have not expired (absolute, idle or cookie expiry)."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        expire_date__gt=now,
        signed_in_at__gt=now - timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS),
        last_activity__gt=now - timedelta(seconds=settings.SESSION_IDLE_SECONDS),
    ).order_by("-last_activity")


@transaction.atomic
def sessions_revoke(*, actor: Any, request: HttpRequest, sid: str | None = None) -> int:
    """End the actor's session with the public handle ``sid``, or without one every other
    session; the current session goes on either way. Returns how many ended."""
    sessions = UserSession.objects.filter(user=actor).exclude(
        session_key=request.session.session_key
    )
    if sid is not None:
        sessions = sessions.filter(sid=sid)
    ended = _end_sessions(sessions, reason="revoked")
    if ended or sid is None:  # "sign out all others" is recorded even when none were left
        record_event(
            "session_revoked",
            actor=actor,
            request=request,
            resource=_resource(actor),
            details={"scope": "others" if sid is None else "one", "count": len(ended)},
        )
    return len(ended)


@transaction.atomic
def user_sessions_end(*, user: Any, reason: str, actor: Any = None) -> int:
    """End all of a user's sessions and websockets (deactivation)."""
    ended = _end_sessions(UserSession.objects.filter(user=user), reason=reason)
    announce_user_sessions_ended(user.pk, reason=reason)
    if ended:
        record_event(
            "session_revoked",
            actor=actor,
            resource=_resource(user),
            details={"scope": "all", "reason": reason, "count": len(ended)},
        )
    return len(ended)


# --- Passwords ----------------------------------------------------------------------------


@transaction.atomic
def password_change(*, actor: Any, password: str, request: HttpRequest) -> int:
    """Set the actor's own password; this session continues, every other one ends."""
    password_validation.validate_password(password, actor)
    old_key = request.session.session_key
    actor.set_password(password)
    actor.save(update_fields=["password"])
    update_session_auth_hash(request, actor)  # keeps this session, under a new key
    sessions = UserSession.objects.filter(user=actor).exclude(
        session_key=request.session.session_key
    )
    ended = _end_sessions(sessions, reason="password_changed")
    if old_key:
        # Sockets opened under this session's old key reconnect with the new cookie.
        announce_sessions_ended([old_key], reason="password_changed")
    record_event(
        "password_changed",
        actor=actor,
        request=request,
        resource=_resource(actor),
        details={"sessions_ended": len(ended)},
    )
    _notify(actor, what=gettext_lazy("Your password was changed."), request=request)
    return len(ended)


@transaction.atomic
def password_set_by_admin(*, actor: Any, user: Any, request: HttpRequest) -> int:
    """After an administrator set (or disabled) ``user``'s password in the admin site: end
    the user's sessions (the actor's own current one goes on), record it and tell the user."""
    current = request.session.session_key if user.pk == actor.pk else None
    sessions = UserSession.objects.filter(user=user)
    if current:
        sessions = sessions.exclude(session_key=current)
    ended = _end_sessions(sessions, reason="password_changed")
    record_event(
        "password_changed",
        actor=actor,
        request=request,
        resource=_resource(user),
        details={"by_admin": True, "sessions_ended": len(ended)},
    )
    _notify(
        user,
        what=gettext_lazy("An administrator set a new password for your account."),
        request=request,
    )
    return len(ended)


@transaction.atomic
def password_set_by_operator(*, user: Any, password: str, username: str) -> int:
    """``manage.py changepassword``: validate and set ``user``'s password, end every session
    and socket of theirs, record it (``username`` names who ran the command) and tell them."""
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = _end_sessions(UserSession.objects.filter(user=user), reason="password_changed")
    record_event(
        "password_changed",
        username=username,
        resource=_resource(user),
        details={"by_command": True, "sessions_ended": len(ended)},
    )
    _notify(user, what="An operator set a new password for your account.")
    return len(ended)


# --- Second factors -----------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking a login code."""

    device: Any  # the device that accepted the code, or None
    method: str  # "totp" or "backup"
    result: str  # a VerifyResult value
    retry_after: int | None = None  # seconds, while throttled
    backup_codes_left: int | None = None


def has_authenticator(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _seconds_until_allowed(device: Any) -> int | None:
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return None
    return max(1, int((info["locked_until"] - timezone.now()).total_seconds() + 0.999))


@transaction.atomic
def otp_verify(*, user: Any, code: str, request: HttpRequest) -> CodeCheck:
    """Check a login code: 6 digits against the authenticator, anything else against the
    backup codes. Failures are throttled by the device (exponential backoff) and recorded;
    a correct password does not reset that throttle."""
    is_totp = code.isdigit() and len(code) == 6
    method = "totp" if is_totp else "backup"
    model = TOTPDevice if is_totp else BackupCodeDevice
    device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        record_event(
            "otp_failed",
            actor=user,
            request=request,
            resource=_resource(user),
            details={"method": method, "reason": "no_device"},
        )
        return CodeCheck(None, method, VerifyResult.WRONG)
    if device.verify_token(code):
        left = None
        if not is_totp:
            left = device.remaining()
            record_event(
                "backup_code_used",
                actor=user,
                request=request,
                resource=_resource(user),
                details={"remaining": left},
            )
            _notify(
                user,
                what=ngettext_lazy(
                    "A backup code was used to sign in. %(left)d unused code remains.",
                    "A backup code was used to sign in. %(left)d unused codes remain.",
                    "left",
                ),
                params={"left": left},
                request=request,
            )
        return CodeCheck(device, method, VerifyResult.OK, backup_codes_left=left)
    result = device.last_result
    record_event(
        "otp_replayed" if result == VerifyResult.REPLAYED else "otp_failed",
        actor=user,
        request=request,
        resource=_resource(user),
        details={
            "method": method,
            "reason": result,
            "failures": device.throttling_failure_count,
        },
    )
    retry_after = _seconds_until_allowed(device) if result == VerifyResult.THROTTLED else None
    return CodeCheck(None, method, result, retry_after=retry_after)


@transaction.atomic
def totp_device_begin(*, actor: Any, user: Any) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled; the same one on every page load until
    it is confirmed or the enrolment window passes, so a scanned QR code stays valid. One
    whose secret no longer decrypts (its key was removed) cannot be shown: a new one is made."""
    fresh_after = timezone.now() - timedelta(seconds=settings.ENROLMENT_PENDING_SECONDS)
    pending = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False)
    device = pending.filter(created_at__gt=fresh_after).order_by("-id").first()
    if device is not None and not is_undecryptable(device.key):
        return device
    pending.delete()
    device = TOTPDevice(
        user=user, name="Authenticator app", confirmed=False, key=TOTPDevice.new_key()
    )
    device.full_clean(exclude=["key"])
    device.save()
    return device


@dataclass(frozen=True)
class Enrolment:
    confirmed: bool
    result: str
    backup_codes: list[str]  # new codes to show once (empty when existing codes are kept)
    retry_after: int | None = None


@transaction.atomic
def totp_enrol(*, actor: Any, device: TOTPDevice, code: str, request: HttpRequest) -> Enrolment:
    """Confirm an authenticator with a code it produced. It replaces any earlier one, every
    other session of the user ends, and first-time users get backup codes."""
    locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
    if locked is None:  # confirmed (or replaced) by a concurrent request meanwhile
        return Enrolment(False, VerifyResult.WRONG, [])
    device = locked
    user = device.user
    if not device.verify_token(code):
        record_event(
            "otp_replayed" if device.last_result == VerifyResult.REPLAYED else "otp_failed",
            actor=actor,
            request=request,
            resource=_resource(user),
            details={"method": "totp", "reason": device.last_result, "stage": "enrolment"},
        )
        retry = (
            _seconds_until_allowed(device) if device.last_result == VerifyResult.THROTTLED else None
        )
        return Enrolment(False, device.last_result, [], retry)
    replaced = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk)
    had_authenticator = replaced.filter(confirmed=True).exists()
    replaced.delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    backup, _ = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": "Backup codes"}
    )
    codes = backup.replace_codes() if backup.remaining() == 0 else []
    current = request.session.session_key if request.user.is_authenticated else None
    _end_sessions(
        UserSession.objects.filter(user=user).exclude(session_key=current),
        reason="2fa_changed",
    )
    record_event(
        "2fa_enrolled",
        actor=actor,
        request=request,
        resource=_resource(user),
        details={"replaced": had_authenticator, "backup_codes_issued": bool(codes)},
    )
    _notify(
        user,
        what=(
            gettext_lazy("Your authenticator app was replaced.")
            if had_authenticator
            else gettext_lazy("An authenticator app was set up for two-factor authentication.")
        ),
        request=request,
    )
    return Enrolment(True, VerifyResult.OK, codes)


@transaction.atomic
def backup_codes_regenerate(*, actor: Any, request: HttpRequest) -> list[str]:
    """Replace the actor's backup codes; the old set stops working. Returns the new codes."""
    device, _ = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=actor, defaults={"name": "Backup codes"}
    )
    codes = device.replace_codes()
    device.throttle_reset(commit=False)  # the new codes start without the old backoff
    device.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])
    record_event(
        "backup_codes_regenerated",
        actor=actor,
        request=request,
        resource=_resource(actor),
        details={"count": len(codes)},
    )
    _notify(
        actor,
        what=gettext_lazy("New backup codes were generated; the old ones no longer work."),
        request=request,
    )
    return codes


@transaction.atomic
def two_factor_reset(*, actor: Any, user: Any, request: HttpRequest | None = None) -> int:
    """Remove a user's authenticator and backup codes and end all their sessions; they
    enrol again at their next login."""
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    ended = _end_sessions(UserSession.objects.filter(user=user), reason="2fa_reset")
    announce_user_sessions_ended(user.pk, reason="2fa_reset")
    record_event(
        "2fa_reset",
        actor=actor,
        request=request,
        resource=_resource(user),
        details={"sessions_ended": len(ended)},
    )
    _notify(
        user,
        what=gettext_lazy(
            "An administrator reset your two-factor authentication. You will set up an "
            "authenticator app again at your next login."
        ),
        request=request,
    )
    return len(ended)
