"""Session security for every request, and the headers Django does not set by itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from accounts import login_state, session_policy
from accounts.signals import announce_sessions_ended

# Reachable without a verified second factor besides views marked with Django's
# @login_not_required (login, OTP step, 2FA setup, logout): health checks for the load
# balancer and monitoring, which answer without any session.
PUBLIC_PATHS = re.compile(r"^/(healthz|readyz|metrics)$")
# Live pages refetch these by themselves (after a reconnect, when a deadline passes): that is
# not the user's activity, and must not keep an unattended dashboard's session alive.
BACKGROUND_PATHS = re.compile(r"^/live/")

END_MESSAGES = {
    "absolute": _("Your session reached its maximum length. Please log in again."),
    "idle": _("You were logged out after a period of inactivity. Please log in again."),
}


def login_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """To the login page, coming back here afterwards (GET only: a POST cannot be replayed)."""
    url = reverse("login")
    if request.method == "GET" and request.path != reverse("home"):
        url += "?" + urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(url)


def end_session(request: HttpRequest, *, reason: str) -> None:
    """Forget this session everywhere: the stored session, the user, open websockets."""
    key = request.session.session_key
    request.session.flush()
    request.user = AnonymousUser()
    if key:
        announce_sessions_ended([key], reason=reason)


class SessionSecurityMiddleware:
    """Enforces, on the server, for every view:

    - the absolute and idle session timeouts (accounts/session_policy.py);
    - a verified second factor: a view not marked ``@login_not_required`` is reachable only
      by a user who passed both login steps; someone who passed only the password step is
      sent to the OTP step (or enrolment), anyone else to the login page;
    - ``Cache-Control: no-store`` on every page it serves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = loaded(request.user)
        response = self._check_session(request) or self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)  # a view's own no-store policy is kept as is
        return response

    def _check_session(self, request: HttpRequest) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return None
        reason = session_policy.session_end_reason(request.session)
        if reason is None:
            if not BACKGROUND_PATHS.match(request.path_info):
                session_policy.touch_if_due(request.session)
            return None
        end_session(request, reason=reason)
        messages.info(request, END_MESSAGES.get(reason, END_MESSAGES["absolute"]))
        return login_redirect(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not getattr(view, "login_required", True) or PUBLIC_PATHS.match(request.path_info):
            return None
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        user = request.user
        if user.is_authenticated:
            if getattr(user, "is_verified", lambda: False)():
                return None
            # Logged in without a second factor: not a session our login made, or its
            # device was removed. Start again.
            end_session(request, reason="unverified")
            return login_redirect(request)
        pending = login_state.get(request)
        if pending is not None:
            return redirect("login_verify" if pending.enrolled else "two_factor_setup")
        if getattr(request, "pending_login_expired", False):
            messages.info(request, _("Your sign-in took too long. Please log in again."))
        return login_redirect(request)


def loaded(user: Any) -> Any:
    """The request's user itself, loaded: authentication and the second-factor check each
    wrap it in a lazy object, through which every attribute read (a page makes hundreds)
    raises and catches an AttributeError. The gate below reads it on every request anyway."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class SecurityHeadersMiddleware:
    """Permissions-Policy and Cross-Origin-Resource-Policy on every response (Django's
    SecurityMiddleware sets HSTS, nosniff, Referrer-Policy and COOP; django-csp the CSP)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
