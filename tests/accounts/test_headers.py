"""Security headers on every response, and no caching of signed-in pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import override_settings

from tests.conftest import login

PATHS = [
    "/accounts/login/",
    "/accounts/login/verify/",
    "/dashboard/",
    "/tickets/",
    "/accounts/sessions/",
    "/admin/",
    "/healthz",
    "/static/css/app.css",
    "/no-such-page/",
]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("signed_in", [False, True])
def test_every_response_carries_the_security_headers(client, manager, path, signed_in):
    if signed_in:
        login(client, manager)
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/tickets/", "/accounts/sessions/", "/accounts/2fa/", "/admin/"]
)
def test_signed_in_pages_are_never_stored(client, manager, path):
    login(client, manager)
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_login_pages_are_never_stored(client, db):
    assert "no-store" in client.get("/accounts/login/")["Cache-Control"]


@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_is_sent_over_https(client, db):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


def test_production_uses_secure_host_prefixed_cookies_hsts_and_https_upgrades(tmp_path):
    """Load the settings as production would (a separate process) and read them back."""
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "Zq8x7Kp2mWv9Lr4Tn6Yb1Hc3Jd5Fg0Se8UaQ3tR7yB2nM5vC9xL1kH4gF6dS0aP8wE",
        "ALLOWED_HOSTS": "helpdesk.example.org",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://db/x",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
        "DATA_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("SECURE_COOKIES", None)
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_NAME, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['upgrade-insecure-requests']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "__Host-sessionid",
        True,
        "__Host-csrftoken",
        True,
        True,
        31_536_000,
        True,
    ]
