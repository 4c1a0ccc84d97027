"""The admin site requires a verified second factor (django-otp's OTPAdminSite).

Its own login form is never shown: /admin/login/ sends people through the site's two-step
login, so there is exactly one way in. Likewise its password form: /admin/password_change/
sends people to /accounts/password/ (the lockout counts wrong current passwords there, and the
change is audited and notified).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite as BaseOTPAdminSite


class OTPAdminSite(BaseOTPAdminSite):
    site_header = "ticketsystem administration"
    site_title = "ticketsystem"

    @login_not_required  # like Django's; the gate would otherwise bounce it to our login
    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_verified():
            # Fully logged in but not admin staff: no second login form, just no.
            raise PermissionDenied("Your account cannot use the admin site.")
        from accounts.views import safe_next

        next_url = safe_next(request.GET.get("next")) or reverse("admin:index")
        return HttpResponseRedirect(reverse("login") + "?" + urlencode({"next": next_url}))

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("password_change"))
