"""Helpers for tests of encryption, audit and attachments: raw database access (the
attacker's or a broken backup's view) and small builders; and the "nothing was saved"
check of the bad-input sweeps."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tickets.models import Attachment

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# Tables whose primary key is not "id" (a ticket's description row is keyed by its ticket).
_KEYS = {"tickets_ticketbody": "ticket_id"}


def raw_get(table: str, column: str, pk: int) -> Any:
    key = _KEYS.get(table, "id")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{key}" = %s', [pk])  # noqa: S608
        value = cursor.fetchone()[0]
    return bytes(value) if isinstance(value, memoryview) else value


def raw_set(table: str, column: str, pk: int, value: Any) -> None:
    with connection.cursor() as cursor:
        key = _KEYS.get(table, "id")
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE "{key}" = %s', [value, pk])  # noqa: S608


def flip_bit(token: str) -> str:
    """Flip one bit inside the ciphertext of a text token (not in its prefix)."""
    prefix, body = token.rsplit("$", 1)
    blob = bytearray(base64.urlsafe_b64decode(body))
    blob[len(blob) // 2] ^= 0x01
    return f"{prefix}${base64.urlsafe_b64encode(bytes(blob)).decode()}"


def upload(
    name: str, data: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def fresh(attachment: Attachment) -> Attachment:
    return Attachment.objects.get(pk=attachment.pk)


# Tables a refused request or a failed command may legitimately write: the security log and
# lockout counters (a refusal is itself an event), and the sessions' own bookkeeping.
LOGGED_TABLES = frozenset(
    {
        "audit_securityevent",
        "axes_accessattempt",
        "axes_accessattemptexpiration",
        "axes_accessfailurelog",
        "axes_accesslog",
        "django_session",
        "accounts_usersession",
        "accounts_loginfailureminute",  # a failed login's per-username count
        "audit_failuretally",  # repeated identical failures, counted instead of chained
    }
)


def db_fingerprint(ignore: Iterable[str] = ()) -> dict[str, str]:
    """A digest of every table's rows (minus the logs a refusal may write, and ``ignore``)."""
    tables = sorted(set(connection.introspection.table_names()) - LOGGED_TABLES - set(ignore))
    quoted = [connection.ops.quote_name(table) for table in tables]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # the embedded SQLite default: in Python
            digests = {}
            for table, name in zip(tables, quoted, strict=True):
                cursor.execute(f"SELECT * FROM {name}")  # noqa: S608 (names from Django)
                digests[table] = repr(sorted(map(repr, cursor.fetchall())))
            return digests
        digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        cursor.execute(
            " UNION ALL ".join(f"SELECT %s, {digest} FROM {name} t" for name in quoted),  # noqa: S608
            tables,
        )
        return dict(cursor.fetchall())


def db_write_count() -> int:
    """Rows written so far in this test's transaction (rolled-back ones included): a cheap
    sign that the fingerprint needs computing again."""
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        return connection.connection.total_changes
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_user_tables WHERE relname <> ALL(%s)",
            [sorted(LOGGED_TABLES)],
        )
        return int(cursor.fetchone()[0])
