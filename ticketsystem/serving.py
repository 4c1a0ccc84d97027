"""How this process serves: database connections per server kind and the request body cap.

Pages run under gunicorn (WSGI, ticketsystem/wsgi.py), websockets under daphne (ASGI); the
entry point names the kind in ``TICKETSYSTEM_SERVER`` before settings load. Under WSGI each
process keeps a bounded psycopg pool (Django's ``OPTIONS["pool"]``), so a request no longer
opens a connection; everything else (daphne, commands, the worker, tests) keeps the
per-request connections of ``DB_CONN_MAX_AGE`` (0 unless set). The connection budget is in
docs/operations.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dj_database_url

from ticketsystem.env import ConfigError, envint, envstr

SERVER_ENV = "TICKETSYSTEM_SERVER"


def server_kind() -> str:
    """ "wsgi" under gunicorn (set by ticketsystem/wsgi.py), else "asgi" or "other"."""
    kind = os.environ.get(SERVER_ENV, "other").lower()
    if kind not in {"wsgi", "asgi", "other"}:
        raise ConfigError(f"{SERVER_ENV} must be wsgi, asgi or other, not {kind!r}")
    return kind


def web_threads() -> int:
    """Threads per gunicorn worker (1: sync workers, ops/deploy/gunicorn.conf.py); also the
    pool's size, one connection each."""
    threads = envint("WEB_THREADS", 1, minimum=1, maximum=64)
    return threads


def _prepared() -> bool:
    value = envstr("DB_PREPARE", "on").lower()
    if value not in {"on", "off"}:
        raise ConfigError(f"DB_PREPARE must be on or off, not {value!r}")
    return value == "on"


def database_config(url: str, *, conn_max_age: int) -> dict[str, Any]:
    """DATABASES["default"] for ``url``: pooled under WSGI on PostgreSQL, else per request."""
    pooled = server_kind() == "wsgi" and envstr("DB_POOL", "on").lower() != "off"
    if pooled and conn_max_age:
        raise ConfigError("DB_CONN_MAX_AGE must be 0 under gunicorn: its connections are pooled")
    config = dj_database_url.parse(
        url, conn_max_age=conn_max_age, conn_health_checks=conn_max_age > 0
    )
    # Server-side cursors buy nothing for our small result sets and break behind
    # transaction-pooling proxies (pgbouncer).
    config["DISABLE_SERVER_SIDE_CURSORS"] = True
    if config["ENGINE"] == "django.db.backends.postgresql" and _prepared():
        # Parameters bound by the server, so psycopg prepares a statement it has run five
        # times on a connection: the ticket page's six-table read plans in ~1 ms and runs
        # in 0.1 ms, and a kept (pooled) connection plans it once. Off behind a proxy that
        # pools by transaction without prepared-statement support (DB_PREPARE=off).
        options = config.setdefault("OPTIONS", {})
        options["server_side_binding"] = True
        options["prepare_threshold"] = 5  # Django turns psycopg's automatic prepares off
    if pooled and config["ENGINE"] == "django.db.backends.postgresql":
        size = envint("DB_POOL_MAX_SIZE", web_threads(), minimum=1, maximum=1000)
        config.setdefault("OPTIONS", {})["pool"] = {
            # One connection per gunicorn thread never makes a request wait for another;
            # min_size 1 keeps an idle worker from holding more than it needs.
            "min_size": 1,
            "max_size": size,
            "timeout": envint("DB_POOL_TIMEOUT", 10, minimum=1, maximum=600),
            # Recycle connections hourly and drop idle ones after 5 minutes.
            "max_lifetime": 3600,
            "max_idle": 300,
        }
    return config


def body_settings(*, attachment_max_bytes: int) -> dict[str, Any]:
    """The request body cap (413 past it) and Django's in-memory upload sizes, one value."""
    default = attachment_max_bytes + 1024 * 1024  # one attachment plus the form around it
    cap = envint("REQUEST_MAX_BODY_BYTES", default, minimum=64 * 1024, maximum=1024 * 1024 * 1024)
    if cap > attachment_max_bytes * 2 + 1024 * 1024:
        raise ConfigError(
            "REQUEST_MAX_BODY_BYTES must be at most twice ATTACHMENT_MAX_BYTES plus 1 MiB"
        )
    return {
        "REQUEST_MAX_BODY_BYTES": cap,
        # Django buffers an ASGI body in a SpooledTemporaryFile of this size: never past it.
        "FILE_UPLOAD_MAX_MEMORY_SIZE": cap,
        "FILE_UPLOAD_HANDLERS": ["tickets.uploads.CappedMemoryUploadHandler"],
    }


def settle() -> None:
    """Called once the app is loaded (wsgi.py, asgi.py): what exists now (Django, the apps,
    settings, URLconf) lives as long as the process, so the cyclic garbage collector stops
    scanning it (``gc.freeze``). Its collections then walk only what requests allocate:
    about 1.1 -> 0.6 ms of a list page's time here (docs/PERFORMANCE.md)."""
    import gc

    gc.collect()
    gc.freeze()


@contextmanager
def unprepared() -> Iterator[None]:
    """Statements run inside are planned for their own parameters, never prepared (DB_PREPARE):
    for reads whose best plan depends on the values, such as a search's tokens."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    saved = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = saved
