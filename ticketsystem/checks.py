"""System checks: misconfiguration is caught at start-up, not at the first request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from ticketsystem.production import key_problems

KEY_CHECK_IDS = {
    "FIELD_ENCRYPTION_KEYS": "ticketsystem.E001",
    "BLIND_INDEX_KEY": "ticketsystem.E002",
    "AUDIT_HMAC_KEY": "ticketsystem.E003",
    "SEARCH_INDEX_KEY": "ticketsystem.E004",
}


@checks.register(checks.Tags.security, deploy=False)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    config = {name: getattr(settings, name) for name in KEY_CHECK_IDS}
    return [
        checks.Error(message, id=KEY_CHECK_IDS[name])
        for name, message in key_problems(config).items()
    ]
