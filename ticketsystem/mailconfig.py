"""Mail settings, read from the environment and range-checked (settings.py merges them)."""

from __future__ import annotations

from typing import Any

from ticketsystem.env import ConfigError, envbool, envint, envstr


def mail_settings(*, production: bool) -> dict[str, Any]:
    """Every mail setting by name; raises ConfigError with a one-line reason."""
    # "database": tasks are rows in PostgreSQL, enqueued in the same transaction as the reply,
    # run by `manage.py db_worker` (any number of processes and hosts). "immediate": run in
    # the web process right after the commit, for `make run` without a worker.
    backend = envstr("TASKS_BACKEND", "database" if production else "immediate").lower()
    if backend not in {"database", "immediate"}:
        raise ConfigError(f"TASKS_BACKEND must be database or immediate, not {backend!r}")
    # A failed SMTP attempt is retried after base * 2^(attempt-1) seconds, capped; after the
    # last attempt the mail is marked failed with the server's answer.
    attempts = envint("MAIL_SEND_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
    base = envint("MAIL_RETRY_BASE_SECONDS", 60, minimum=0, maximum=7 * 86400)
    cap = envint("MAIL_RETRY_MAX_SECONDS", 6 * 3600, minimum=1, maximum=7 * 86400)
    if base > cap:
        raise ConfigError(
            "MAIL_RETRY_BASE_SECONDS must not exceed MAIL_RETRY_MAX_SECONDS (at most 604800)"
        )
    # The helpdesk's address (https://helpdesk.example.org) for links in agents' notices.
    site_url = envstr("MAIL_SITE_URL", "").rstrip("/")
    if site_url and not site_url.startswith(("https://", "http://")):
        raise ConfigError("MAIL_SITE_URL must be an http(s) URL")
    return {
        "TASKS_BACKEND": backend,
        "TASKS": {
            "default": {
                "BACKEND": (
                    "django_tasks_db.DatabaseBackend"
                    if backend == "database"
                    else "django_tasks.backends.immediate.ImmediateBackend"
                ),
                "QUEUES": ["default"],
            }
        },
        "MAIL_SEND_MAX_ATTEMPTS": attempts,
        "MAIL_RETRY_BASE_SECONDS": base,
        "MAIL_RETRY_MAX_SECONDS": cap,
        # Seconds an SMTP connection may hang before the attempt counts as failed.
        "EMAIL_TIMEOUT": envint("EMAIL_TIMEOUT", 30, minimum=1, maximum=600),
        # Production sends through STARTTLS only, unless this says a plaintext relay is
        # intended (e.g. a local MTA on the same host).
        "EMAIL_ALLOW_PLAINTEXT": envbool("EMAIL_ALLOW_PLAINTEXT", False),
        "MAIL_SITE_URL": site_url,
    }
