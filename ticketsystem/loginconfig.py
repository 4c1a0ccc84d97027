"""Login settings: 2FA timings, request throttles and lockouts (settings.py merges them).

Lockouts (docs/authentication.md): django-axes locks a username + client pair after
LOGIN_FAILURE_LIMIT failures, where an IPv6 client counts as its /64; across all addresses a
username that failed LOGIN_USERNAME_FAILURE_LIMIT times within an hour gets one password
check per LOGIN_USERNAME_DELAY_SECONDS - a delay, never a lock an attacker could keep shut.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ticketsystem.env import envint, envstr


def login_settings() -> dict[str, Any]:
    """Every login setting by name; raises ConfigError with a one-line reason."""
    failure_limit = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1_000)
    lockout_minutes = envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=10_080)
    return {
        "LOGIN_FAILURE_LIMIT": failure_limit,
        "LOGIN_LOCKOUT_MINUTES": lockout_minutes,
        "LOGIN_USERNAME_FAILURE_LIMIT": envint(
            "LOGIN_USERNAME_FAILURE_LIMIT", 50, minimum=1, maximum=100_000
        ),
        "LOGIN_USERNAME_DELAY_SECONDS": envint(
            "LOGIN_USERNAME_DELAY_SECONDS", 60, minimum=1, maximum=3_600
        ),
        # The half-logged-in state (password accepted, second factor not yet) ends after this.
        "LOGIN_PENDING_SECONDS": envint("LOGIN_PENDING_SECONDS", 300, minimum=30, maximum=3_600),
        # First enrolment needs longer: installing an authenticator app takes a few minutes.
        "ENROLMENT_PENDING_SECONDS": envint(
            "ENROLMENT_PENDING_SECONDS", 900, minimum=60, maximum=86_400
        ),
        # Re-entering the password unlocks sensitive account changes for this long.
        "SUDO_SECONDS": envint("SUDO_SECONDS", 600, minimum=60, maximum=86_400),
        "OTP_THROTTLE_FACTOR": envint("OTP_THROTTLE_FACTOR", 1, minimum=1, maximum=60),
        "OTP_ISSUER": envstr("OTP_ISSUER", "ticketsystem") or "ticketsystem",
        "THROTTLE_RATES": {
            # requests per minute and user, answered with 429 past the limit
            "post": envint("THROTTLE_POST_PER_MINUTE", 30, minimum=1, maximum=100_000),
            "search": envint("THROTTLE_SEARCH_PER_MINUTE", 60, minimum=1, maximum=100_000),
        },
        "AUTHENTICATION_BACKENDS": [
            "axes.backends.AxesStandaloneBackend",  # refuses locked-out username + IP pairs
            # ModelBackend, loading roles and queues with the user (one query, not three).
            # Sessions made by "django.contrib.auth.backends.ModelBackend" before it came
            # in end once: a new login.
            "accounts.backends.StaffBackend",
        ],
        # django-axes: LOGIN_FAILURE_LIMIT failures per username + client lock that pair.
        "AXES_HANDLER": "axes.handlers.database.AxesDatabaseHandler",
        "AXES_FAILURE_LIMIT": failure_limit,
        "AXES_COOLOFF_TIME": timedelta(minutes=lockout_minutes),
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_RESET_ON_SUCCESS": True,  # only after the second factor: see accounts/views.py
        # The client as lockouts count it: its IP address, an IPv6 client as its /64.
        "AXES_CLIENT_IP_CALLABLE": "ticketsystem.clientip.client_network",
        "AXES_USERNAME_CALLABLE": "accounts.lockout.lockout_username",
        "AXES_LOCKOUT_CALLABLE": "accounts.lockout.lockout_response",
        "AXES_DISABLE_ACCESS_LOG": True,  # successful logins are in the audit log already
        "AXES_VERBOSE": False,
        # Masked in the failed attempts axes stores: every form that checks a password
        # through authenticate() (login, sudo, password change) and the OTP code.
        "AXES_SENSITIVE_PARAMETERS": [
            "username",
            "ip_address",
            "password",
            "code",
            "old_password",
            "new_password1",
            "new_password2",
        ],
    }
