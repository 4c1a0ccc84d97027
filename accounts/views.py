"""Login in two steps, 2FA enrolment and management, sudo mode, password and sessions.

Views marked ``@login_not_required`` are reachable before the second factor (see
accounts/middleware.py); each of them checks the login state it needs itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import lockout, login_state, preferences, services, session_policy
from accounts.forms import CodeForm, LoginForm, PasswordChangeForm, SudoForm
from accounts.middleware import end_session
from accounts.models import BACKUP_CODE_COUNT, BackupCodeDevice, TOTPDevice, VerifyResult
from accounts.qr import qr_data_uri
from accounts.useragent import describe_user_agent
from ticketsystem.clientip import client_ip, user_agent

MAX_NEXT_LENGTH = 2000


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else "" (no //host, no scheme, no backslash)."""
    if not value or len(value) > MAX_NEXT_LENGTH:
        return ""
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return ""
    return value


def _data(request: HttpRequest) -> Any:
    """Bound form data for a POST even when it is empty (an empty POST is still an attempt)."""
    return request.POST if request.method == "POST" else None


def _restart(request: HttpRequest) -> HttpResponseRedirect:
    if getattr(request, "pending_login_expired", False):
        messages.info(request, _("Your sign-in took too long. Please log in again."))
    return redirect("login")


def _sudo_redirect(request: HttpRequest, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("sudo") + "?" + urlencode({"next": next_url}))


def _finish_login(request: HttpRequest, pending: login_state.PendingLogin, device: Any) -> None:
    """Both factors passed: log in (a new session id again) and mark the session verified."""
    auth_login(request, pending.user, backend=pending.backend)
    django_otp.login(request, device)
    session_policy.stamp_verified(
        request.session,
        device=device,
        auth_at=pending.started_at,
        ip=client_ip(request),
        user_agent=user_agent(request),
    )
    login_state.clear(request)
    preferences.remember(request, pending.user)


def _is_verified(user: Any) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_verified", lambda: False)())


# --- Step one: password -------------------------------------------------------------------


@sensitive_post_parameters("password")
@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.POST.get("next") or request.GET.get("next"))
    if _is_verified(request.user):
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    if request.method == "POST":
        wait = lockout.username_wait_seconds(lockout.lockout_username(request, None))
        if wait is not None:  # many failures for this username, from anywhere: slow down
            return lockout.username_delayed_response(request, wait)
    form = LoginForm(request, data=_data(request))
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        login_state.begin(request, user, next_url=next_url)
        if services.has_authenticator(user):
            return redirect("login_verify")
        return redirect("two_factor_setup")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "registration/login.html", {"form": form, "next": next_url}, status=status
    )


# --- Step two: code -----------------------------------------------------------------------


@sensitive_post_parameters("code")
@login_not_required
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    if _is_verified(request.user):
        return redirect(settings.LOGIN_REDIRECT_URL)
    pending = login_state.get(request)
    if pending is None:
        return _restart(request)
    if not pending.enrolled:
        return redirect("two_factor_setup")
    form = CodeForm(_data(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            check = services.otp_verify(
                user=pending.user, code=form.cleaned_data["code"], request=request
            )
            if check.device is not None:
                _finish_login(request, pending, check.device)
                if check.backup_codes_left is not None:
                    messages.warning(
                        request,
                        _(
                            "You signed in with a backup code. %(left)d of %(total)d remain; "
                            "generate new ones if you are running out."
                        )
                        % {"left": check.backup_codes_left, "total": BACKUP_CODE_COUNT},
                    )
                return redirect(safe_next(pending.next_url) or settings.LOGIN_REDIRECT_URL)
            status = _code_error(form, check.result, check.retry_after)
    response = render(request, "accounts/verify.html", {"form": form}, status=status)
    return _with_retry_after(response, form)


def _code_error(form: CodeForm, result: str, retry_after: int | None) -> int:
    """Put the right message on the code field (emptied for the next try); return the HTTP
    status to answer with."""
    form.data = form.data.copy()
    form.data["code"] = ""
    if result == VerifyResult.THROTTLED:
        form.retry_after = retry_after or 1
        wait = ngettext(
            "Too many wrong codes. Wait %(n)d second, then try again.",
            "Too many wrong codes. Wait %(n)d seconds, then try again.",
            form.retry_after,
        )
        form.add_error("code", wait % {"n": form.retry_after})
        return 429
    form.add_error("code", _("That code is not valid, or it was already used."))
    return 400


def _with_retry_after(response: HttpResponse, form: Any) -> HttpResponse:
    retry_after = getattr(form, "retry_after", None)
    if response.status_code == 429 and retry_after:
        response["Retry-After"] = str(retry_after)
    return response


# --- Enrolment ----------------------------------------------------------------------------


@sensitive_post_parameters("code")
@login_not_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: forced after the password step for users without one, or
    (in sudo mode) to replace the current one."""
    pending = None
    if request.user.is_authenticated:
        if not _is_verified(request.user):
            end_session(request, reason="unverified")
            return redirect("login")
        if not login_state.sudo_active(request):
            return _sudo_redirect(request, reverse("two_factor_setup"))
        user = request.user
    else:
        pending = login_state.get(request)
        if pending is None:
            return _restart(request)
        if pending.enrolled:
            return redirect("login_verify")  # a second authenticator only after the first
        user = pending.user
    device = services.totp_device_begin(actor=user, user=user)
    form = CodeForm(_data(request), allow_backup=False)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            enrolment = services.totp_enrol(
                actor=user, device=device, code=form.cleaned_data["code"], request=request
            )
            if enrolment.confirmed:
                device.confirmed = True
                return _enrolled(request, pending, device, enrolment.backup_codes)
            status = _code_error(form, enrolment.result, enrolment.retry_after)
    context = {
        "form": form,
        "pending": pending,
        "qr": qr_data_uri(device.config_url()),
        "secret": " ".join(device.base32_key[i : i + 4] for i in range(0, 32, 4)),
        "replacing": pending is None,
    }
    response = render(request, "accounts/setup.html", context, status=status)
    return _with_retry_after(response, form)


def _enrolled(
    request: HttpRequest,
    pending: login_state.PendingLogin | None,
    device: TOTPDevice,
    codes: list[str],
) -> HttpResponse:
    if pending is not None:
        _finish_login(request, pending, device)
        next_url = safe_next(pending.next_url) or reverse(settings.LOGIN_REDIRECT_URL)
    else:
        django_otp.login(request, device)  # this session is now verified by the new device
        next_url = reverse("two_factor")
    if codes:
        return _show_codes(request, codes, next_url, first_time=pending is not None)
    messages.success(request, _("Your new authenticator app is set up."))
    return redirect(next_url)


def _show_codes(
    request: HttpRequest, codes: list[str], next_url: str, *, first_time: bool
) -> HttpResponse:
    """The only time backup codes are shown: in this response, never stored in plaintext."""
    return render(
        request,
        "accounts/backup_codes_new.html",
        {"codes": codes, "next_url": next_url, "first_time": first_time},
    )


# --- Account security pages (all behind the verified-2FA gate) -----------------------------


@require_http_methods(["GET"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "authenticator": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
        "backup": BackupCodeDevice.objects.filter(user=user).first(),
        "backup_total": BACKUP_CODE_COUNT,
        "session_count": services.active_sessions(user).count(),
    }
    return render(request, "accounts/two_factor.html", context)


@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not login_state.sudo_active(request):
            return _sudo_redirect(request, reverse("backup_codes"))
        codes = services.backup_codes_regenerate(actor=request.user, request=request)
        return _show_codes(request, codes, reverse("two_factor"), first_time=False)
    device = BackupCodeDevice.objects.filter(user=request.user).first()
    context = {
        "remaining": device.remaining() if device else 0,
        "total": BACKUP_CODE_COUNT,
        "sudo": login_state.sudo_active(request),
    }
    return render(request, "accounts/backup_codes.html", context)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sudo(request: HttpRequest) -> HttpResponse:
    """Re-enter the password to unlock sensitive changes for SUDO_SECONDS."""
    next_url = safe_next(request.POST.get("next") or request.GET.get("next")) or reverse(
        "two_factor"
    )
    form = SudoForm(_data(request), request=request)
    if request.method == "POST" and form.is_valid():
        login_state.grant_sudo(request)
        return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": next_url, "minutes": settings.SUDO_SECONDS // 60}
    return render(request, "accounts/sudo.html", context, status=status)


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, _data(request), request=request)
    if request.method == "POST" and form.is_valid():
        ended = services.password_change(
            actor=request.user, password=form.cleaned_data["new_password1"], request=request
        )
        text = _("Your password was changed.")
        if ended:
            text += " " + ngettext(
                "%(n)d other session was signed out.",
                "%(n)d other sessions were signed out.",
                ended,
            ) % {"n": ended}
        messages.success(request, text)
        return redirect("two_factor")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password_change.html", {"form": form}, status=status)


@require_http_methods(["GET"])
def sessions(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    rows = [
        {
            "sid": row.sid,
            "browser": describe_user_agent(row.user_agent),
            "ip": row.ip,
            "signed_in_at": row.signed_in_at,
            "last_activity": row.last_activity,
            "current": row.session_key == current,
        }
        for row in services.active_sessions(request.user)
    ]
    rows.sort(key=lambda row: not row["current"])
    context = {
        "sessions": rows,
        "idle_minutes": settings.SESSION_IDLE_SECONDS // 60,
        "absolute_hours": round(settings.SESSION_ABSOLUTE_SECONDS / 3600, 1),
    }
    return render(request, "accounts/sessions.html", context)


@require_POST
def session_revoke(request: HttpRequest, sid: str) -> HttpResponse:
    if not session_policy.SID_RE.match(sid) or (
        services.sessions_revoke(actor=request.user, sid=sid, request=request) == 0
    ):
        raise Http404(_("No such session."))
    messages.success(request, _("That session was signed out."))
    return redirect("sessions")


@require_POST
def sessions_revoke_others(request: HttpRequest) -> HttpResponse:
    ended = services.sessions_revoke(actor=request.user, request=request)
    messages.success(
        request,
        ngettext("Signed out %(n)d other session.", "Signed out %(n)d other sessions.", ended)
        % {"n": ended},
    )
    return redirect("sessions")


logout = login_not_required(auth_views.LogoutView.as_view())
