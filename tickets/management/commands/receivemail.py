"""manage.py receivemail: one message on standard input, as an MTA's pipe hands it over."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError

from audit.events import record_event
from tickets import services
from tickets.models import Queue

# sysexits.h, as Postfix's pipe and Exim read them: 65 bounces the message, 75 retries later.
EX_DATAERR = 65
EX_TEMPFAIL = 75


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Command(BaseCommand):
    help = (
        "Store one RFC 5322 message from standard input as a new ticket, a reply on its "
        "ticket, or in quarantine (exit 0 once stored). Routed by the queue addresses in "
        "Delivered-To/To/Cc, or to --queue. Exit 75 (the MTA retries) while the database is "
        "unreachable; exit 65 (the MTA bounces) for an empty or oversized message."
    )
    requires_system_checks: list[str] = []  # an MTA waits on us; a retry is the remedy
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", metavar="SLUG", help="put the message into this queue")

    def handle(self, *args: Any, queue: str | None, **options: Any) -> None:
        stdin: BinaryIO = options.get("stdin") or sys.stdin.buffer
        try:
            target = self._queue(queue)
            raw = self._read(stdin)
            inbound = services.mail_receive(raw=raw, queue=target)
        except (OperationalError, InterfaceError) as exc:
            raise CommandError(
                f"database unreachable, the MTA will retry: {_first_line(exc)}",
                returncode=EX_TEMPFAIL,
            ) from None
        where = f" {inbound.ticket.reference}" if inbound.ticket_id else ""
        self.stdout.write(f"mail #{inbound.pk}: {inbound.get_status_display()}{where}")

    def _queue(self, slug: str | None) -> Queue | None:
        if slug is None:
            return None
        found = Queue.objects.filter(slug=slug).first()
        if found is None:
            # A configuration error: defer (not bounce) so no mail is lost while it is fixed.
            raise CommandError(f"no queue with the slug {slug!r}", returncode=EX_TEMPFAIL)
        return found

    def _read(self, stdin: BinaryIO) -> bytes:
        limit = settings.MAIL_RECEIVE_MAX_BYTES
        raw = stdin.read(limit + 1)
        if not raw.strip():
            raise CommandError("no message on standard input", returncode=EX_DATAERR)
        if len(raw) > limit:
            record_event(
                "mail_rejected",
                resource="receivemail",
                details={"reason": "too large", "limit": limit},
            )
            raise CommandError(
                f"message larger than MAIL_RECEIVE_MAX_BYTES ({limit} bytes): refused",
                returncode=EX_DATAERR,
            )
        return raw
