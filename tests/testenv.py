"""Test environment, loaded as a pytest plugin (-p tests.testenv) before Django's settings.

Picks the real services this machine offers: PostgreSQL at DATABASE_URL or the documented
default, and Redis at REDIS_URL or the default, and fixed throwaway keys so the suite never
touches a developer's DATA_DIR secrets. Which database and channel layer were used is printed
in the report header.
"""

from __future__ import annotations

import os
import socket
import tempfile
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ticketsystem"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

# Throwaway keys for tests only (never used outside the test run).
TEST_KEYS = {
    "SECRET_KEY": "test-secret-key-7d1f0c9b2a8e4f6d5c3b1a0e9f8d7c6b5a4e3d2c1b0a9f8e",
    "FIELD_ENCRYPTION_KEYS": "t2:kzOIFNxj5DvCs5rzEPmB8R5Uo3w1Jm2ZHQx0qT9k3sU=,t1:8zK2zQb7oU0yqzv1m5cNw3H3bJYg3y8Y6gK3Zc1o4qA=",
    "BLIND_INDEX_KEY": "Qy5d3H0m3J1Yt8cE4oR7b2xW6kL9pN0sV5uA1zF3gT8=",
    "AUDIT_HMAC_KEY": "bW9uaXRvci1hdWRpdC1jaGFpbi10ZXN0LWtleS0wMDE=",
    "SEARCH_INDEX_KEY": "c2VhcmNoLWluZGV4LXRva2Vucy10ZXN0LWtleS0wMDE=",
}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _configure() -> None:
    os.environ.pop("DJANGO_ENV", None)
    for name, value in TEST_KEYS.items():
        os.environ.pop(f"{name}_FILE", None)
        os.environ[name] = value
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="ticketsystem-test-"))
    if "DATABASE_URL" not in os.environ and _reachable(DEFAULT_DATABASE_URL, 5432):
        os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL
    if "REDIS_URL" not in os.environ and _reachable(DEFAULT_REDIS_URL, 6379):
        os.environ["REDIS_URL"] = DEFAULT_REDIS_URL
    os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}")
    # The production task backend: mail is queued in the database and sent only by a worker
    # the test runs (tests/mail/worker.py), never by the request.
    os.environ.setdefault("TASKS_BACKEND", "database")


_configure()


def pytest_report_header(config: object) -> list[str]:
    database = os.environ.get("DATABASE_URL")
    redis = os.environ.get("REDIS_URL")
    where = f"PostgreSQL ({_redact(database)})" if database else "SQLite (no PostgreSQL reachable)"
    layer = f"Redis ({_redact(redis)})" if redis else "in-memory (no Redis reachable)"
    return [f"database: {where}", f"channel layer and cache: {layer}"]


def _redact(url: str) -> str:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"
