"""What the login flow and the per-request security checks cost.

Runs against a throwaway test database (PostgreSQL at DATABASE_URL, as the test suite):

    .venv/bin/python bench/auth_overhead.py [requests]

Prints a table: the two login steps (Argon2 dominates the first), and an authenticated page
with and without the accounts middleware (timeouts, 2FA gate, OTP device lookup), in
milliseconds per request and database queries per request.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import tests.testenv  # noqa: F401  (throwaway keys and service URLs, like the tests)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from django_otp.oath import TOTP  # noqa: E402

PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 (a throwaway test database)
ACCOUNTS_MIDDLEWARE = {
    "accounts.second_factor.OTPMiddleware",
    "accounts.middleware.SessionSecurityMiddleware",
}


def timed(fn, n: int) -> tuple[float, float]:
    """Median milliseconds and mean queries per call."""
    durations, queries = [], []
    for _ in range(n):
        reset_queries()
        start = time.perf_counter()
        fn()
        durations.append((time.perf_counter() - start) * 1000)
        queries.append(len(connection.queries))
    return statistics.median(durations), statistics.mean(queries)


def main(n: int) -> None:
    from accounts.models import TOTPDevice
    from tests.conftest import login, make_user

    user = make_user("bench", "agent")
    user.set_password(PASSWORD)
    user.save()
    device = TOTPDevice.objects.create(
        user=user, name="app", confirmed=True, key=TOTPDevice.new_key()
    )
    rows = []

    def password_step():
        Client().post("/accounts/login/", {"username": "bench", "password": PASSWORD})

    rows.append(("login: password step (Argon2)", *timed(password_step, max(3, n // 20))))

    def code_step():
        client = Client()
        client.post("/accounts/login/", {"username": "bench", "password": PASSWORD})
        device.refresh_from_db()
        device.last_t = -1  # let the same time step verify again, for measuring only
        device.save(update_fields=["last_t"])
        totp = TOTP(device.bin_key)
        reset_queries()
        start = time.perf_counter()
        client.post("/accounts/login/verify/", {"code": f"{totp.token():06d}"})
        return (time.perf_counter() - start) * 1000, len(connection.queries)

    samples = [code_step() for _ in range(max(3, n // 20))]
    rows.append(
        (
            "login: code step",
            statistics.median(s[0] for s in samples),
            statistics.mean(s[1] for s in samples),
        )
    )

    client = login(Client(), user)
    client.get("/accounts/2fa/")
    rows.append(
        (
            "GET /accounts/2fa/ with accounts middleware",
            *timed(lambda: client.get("/accounts/2fa/"), n),
        )
    )
    plain = [m for m in settings.MIDDLEWARE if m not in ACCOUNTS_MIDDLEWARE]
    with override_settings(MIDDLEWARE=plain):
        other = login(Client(), user)
        rows.append(
            (
                "GET /accounts/2fa/ without it (no gate!)",
                *timed(lambda: other.get("/accounts/2fa/"), n),
            )
        )

    print(f"{'what':48} {'ms (median)':>12} {'queries':>8}")
    for name, ms, queries in rows:
        print(f"{name:48} {ms:12.1f} {queries:8.1f}")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    settings.DEBUG = True  # record queries
    setup_test_environment(debug=True)
    config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        main(count)
    finally:
        teardown_databases(config, verbosity=0)
