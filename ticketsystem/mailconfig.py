"""Mail settings, read from the environment and range-checked (settings.py merges them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ticketsystem.env import ConfigError, envbool, envint, envstr


def mail_settings(*, production: bool) -> dict[str, Any]:
    """Every mail setting by name; raises ConfigError with a one-line reason."""
    return {**_mail_out(production), **_mail_in()}


def _mail_in() -> dict[str, Any]:
    """receivemail, fetchmail and the quarantine (docs/email.md, Mail in)."""
    receive_max = envint(
        "MAIL_RECEIVE_MAX_BYTES", 128 * 1024 * 1024, minimum=1024, maximum=512 * 1024 * 1024
    )
    # What tickets/mail/parse.py reads whole; more bytes or attachments quarantine a message.
    message_max = envint(
        "MAIL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=1024, maximum=512 * 1024 * 1024
    )
    if message_max > receive_max:
        raise ConfigError("MAIL_MAX_MESSAGE_BYTES must not exceed MAIL_RECEIVE_MAX_BYTES")
    ca_file = envstr("MAIL_IMAP_CA_FILE", "")
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"MAIL_IMAP_CA_FILE={ca_file} is not a readable file")
    return {
        # A sender's new tickets per hour above this are quarantined (a flood, a mail loop).
        "MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR": envint(
            "MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR", 20, minimum=1, maximum=10_000
        ),
        # receivemail refuses (exit 65, the MTA bounces it) a message larger than this; up to
        # it, anything parse cannot take whole is quarantined with its source.
        "MAIL_RECEIVE_MAX_BYTES": receive_max,
        "MAIL_MAX_MESSAGE_BYTES": message_max,
        "MAIL_MAX_ATTACHMENTS": envint("MAIL_MAX_ATTACHMENTS", 100, minimum=1, maximum=10_000),
        # Plain IMAP (no TLS) sends the mailbox password readably: refused unless allowed.
        "MAIL_ALLOW_PLAINTEXT": envbool("MAIL_ALLOW_PLAINTEXT", False),
        # CA bundle to verify IMAPS servers with (empty: the system's trust store).
        "MAIL_IMAP_CA_FILE": ca_file,
        "MAIL_IMAP_TIMEOUT": envint("MAIL_IMAP_TIMEOUT", 30, minimum=1, maximum=600),
        # Messages fetched per mailbox and run (the rest wait for the next run).
        "MAIL_FETCH_BATCH": envint("MAIL_FETCH_BATCH", 200, minimum=1, maximum=10_000),
        # manage.py monitor alerts while more messages than this wait in quarantine.
        "MONITOR_MAIL_QUARANTINE_THRESHOLD": envint(
            "MONITOR_MAIL_QUARANTINE_THRESHOLD", 20, minimum=0, maximum=1_000_000
        ),
    }


def _mail_out(production: bool) -> dict[str, Any]:
    """Replies, acknowledgements and notices sent by the task worker (Replies out)."""
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
