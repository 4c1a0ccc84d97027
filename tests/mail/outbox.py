"""Helpers for the mail-out tests: point Django's SMTP backend at the test server, run the
real task worker (django-tasks-db's `db_worker --batch`), and stop or start the server."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from django.core.management import call_command

from tests.mail.smtpd import SmtpServer


def use_smtp(settings: Any, server: SmtpServer) -> None:
    """Send through the aiosmtpd test server (plain SMTP on localhost)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def run_worker() -> None:
    """Run every ready task with the real worker command, then return.

    The command installs its own SIGINT/SIGTERM handlers; the test runner's come back after.
    """
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval=0", verbosity=0
        )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextmanager
def serving(server: SmtpServer) -> Iterator[None]:
    """Run the SMTP server on its port for the duration of the block."""
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()
