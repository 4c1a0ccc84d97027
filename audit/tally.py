"""Repeated identical failures: chained once a minute, counted in between.

An unauthenticated flood of failed logins would otherwise append (and queue on the chain
lock for) a chained row per request. The first failure of a minute for one (action,
username, address) is a SecurityEvent as usual; the rest of that minute only raise the
count on its FailureTally row. Every failure still writes its security log line (fail2ban
reads those), the repeats with the chained row's ``seq=`` and a ``repeat=<n>`` field.
django-axes counts failures on its own, so lockouts are unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from audit.events import _clean_text, _escape, _request_id, logger, normalise_ip, record_event
from audit.models import FailureTally
from ticketsystem.clientip import client_ip

# Counts older than this answer no monitor window or metric; the chained rows keep the record.
TALLY_KEEP = timedelta(days=30)
_TABLE = FailureTally._meta.db_table  # a model's name, not input
_UPSERT = (
    f"INSERT INTO {_TABLE} (action, username, ip, minute, count) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, 1) ON CONFLICT (action, username, ip, minute) "
    f"DO UPDATE SET count = {_TABLE}.count + 1 RETURNING count, seq"
)


def record_repeated_failure(
    action: str, *, username: str, request: Any = None, ip: str | None = None
) -> None:
    """Record a failure such as ``login_failed``: chained once per key and minute, then counted."""
    if ip is None and request is not None:
        ip = client_ip(request)
    address = normalise_ip(ip) or ""
    name = _clean_text(username, 150)
    minute = timezone.now().replace(second=0, microsecond=0)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The row lock serialises one key's failures only, never the whole chain.
            cursor.execute(_UPSERT, [action, name, address, minute])
            count, seq = cursor.fetchone()
        if count == 1:
            event = record_event(action, username=name, request=request, ip=address or None)
            FailureTally.objects.filter(
                action=action, username=name, ip=address, minute=minute
            ).update(seq=event.seq)
            return
        line = (
            f'action={action} user="{_escape(name)}" ip={address or "-"} resource="" '
            f"request_id={_request_id(request) or '-'} seq={seq or 0} repeat={count}"
        )
        transaction.on_commit(lambda: logger.info(line))


def failure_count(action: str, since: Any) -> int:
    """How many ``action`` failures happened since then: chained rows plus counted repeats."""
    from audit.models import SecurityEvent

    chained = SecurityEvent.objects.filter(action=action, created_at__gte=since).count()
    repeats = FailureTally.objects.filter(
        action=action, minute__gte=since.replace(second=0, microsecond=0)
    ).aggregate(n=Sum(F("count") - 1))["n"]
    return chained + (repeats or 0)


def prune_tallies(*, dry_run: bool = False) -> int:
    """Delete counted repeats older than TALLY_KEEP (they hold usernames and addresses);
    the first failure of each minute stays in the chained security events."""
    old = FailureTally.objects.filter(minute__lt=timezone.now() - TALLY_KEEP)
    return old.count() if dry_run else old.delete()[0]
