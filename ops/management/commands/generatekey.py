from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ticketsystem.cipher import generate_key

_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Command(BaseCommand):
    help = (
        "Print a new random 256-bit key. By default as an id:key entry for "
        "FIELD_ENCRYPTION_KEYS (put it first to make it current, then run rotatekeys); "
        "with --raw as a bare key for BLIND_INDEX_KEY or AUDIT_HMAC_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", dest="key_id", help="key id (default k<YYYYMMDD>)")
        parser.add_argument("--raw", action="store_true", help="print only the base64 key")

    def handle(self, *args: Any, key_id: str | None, raw: bool, **options: Any) -> None:
        key = generate_key()
        if raw:
            if key_id:
                raise CommandError("--raw prints a bare key: drop --id")
            self.stdout.write(key)
            return
        key_id = key_id or f"k{timezone.now():%Y%m%d}"
        if not _KEY_ID_RE.match(key_id):
            raise CommandError("--id must be 1-32 characters of A-Z a-z 0-9 _ -")
        self.stdout.write(f"{key_id}:{key}")
