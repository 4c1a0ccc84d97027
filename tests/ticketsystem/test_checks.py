"""System checks: `manage.py check` names a malformed key in any mode, not only production."""

from __future__ import annotations

import pytest
from django.test import override_settings

from ticketsystem.checks import check_encryption_keys

SHORT_KEY = "c2hvcnQ"  # base64 of b"short": decodes, but is not 32 bytes


def test_the_configured_keys_pass():
    assert check_encryption_keys() == []


@pytest.mark.parametrize(
    ("setting", "value", "check_id", "reason"),
    [
        ("FIELD_ENCRYPTION_KEYS", "", "ticketsystem.E001", "FIELD_ENCRYPTION_KEYS: no keys"),
        ("FIELD_ENCRYPTION_KEYS", f"k1:{SHORT_KEY}", "ticketsystem.E001", "must decode to 32"),
        ("BLIND_INDEX_KEY", "", "ticketsystem.E002", "BLIND_INDEX_KEY (or BLIND_INDEX_KEY_FILE)"),
        ("AUDIT_HMAC_KEY", SHORT_KEY, "ticketsystem.E003", "AUDIT_HMAC_KEY must decode to 32"),
        (
            "SEARCH_INDEX_KEY",
            "",
            "ticketsystem.E004",
            "SEARCH_INDEX_KEY (or SEARCH_INDEX_KEY_FILE)",
        ),
    ],
)
def test_a_malformed_key_is_an_error_naming_it(setting, value, check_id, reason):
    with override_settings(**{setting: value}):
        errors = check_encryption_keys()
    assert [error.id for error in errors] == [check_id]
    assert reason in errors[0].msg
