"""System checks: misconfiguration is caught at start-up, not at the first request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from ticketsystem.crypto import KeyringError, parse_blind_index_key, parse_keyring


@checks.register(checks.Tags.security, deploy=False)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    try:
        parse_keyring(settings.FIELD_ENCRYPTION_KEYS)
    except KeyringError as exc:
        errors.append(checks.Error(f"FIELD_ENCRYPTION_KEYS: {exc}", id="ticketsystem.E001"))
    for name, check_id in (
        ("BLIND_INDEX_KEY", "ticketsystem.E002"),
        ("AUDIT_HMAC_KEY", "ticketsystem.E003"),
    ):
        try:
            parse_blind_index_key(getattr(settings, name), name=name)
        except KeyringError as exc:
            errors.append(checks.Error(str(exc), id=check_id))
    return errors
