"""Only the chain's own key may append to it: another AUDIT_HMAC_KEY is a one-line error
and no row, so a mistyped key cannot break the chain for ever."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from audit.chain import verify_chain
from audit.events import ChainKeyMismatch, record_event
from audit.models import SecurityEvent

OTHER_KEY = "YW5vdGhlci1pbnN0YWxsYXRpb25zLWF1ZGl0LWtleSE="


def test_an_empty_chain_accepts_its_first_event_with_any_key(db, settings):
    settings.AUDIT_HMAC_KEY = OTHER_KEY
    record_event("login_failed", username="x")
    assert verify_chain().ok


def test_another_key_appends_nothing(db, settings):
    record_event("login_failed", username="x")
    right_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = OTHER_KEY
    with pytest.raises(ChainKeyMismatch, match="does not match the audit chain") as failure:
        record_event("login_failed", username="y")
    assert "\n" not in str(failure.value)
    assert SecurityEvent.objects.count() == 1
    settings.AUDIT_HMAC_KEY = right_key
    record_event("login_failed", username="z")
    assert verify_chain().ok and SecurityEvent.objects.count() == 2


def test_a_command_with_another_key_ends_in_one_line(db, settings):
    record_event("login_failed", username="x")
    settings.AUDIT_HMAC_KEY = OTHER_KEY
    with pytest.raises(CommandError, match=r"^AUDIT_HMAC_KEY does not match the audit chain"):
        call_command("unlock", "somebody", stdout=io.StringIO())
    assert SecurityEvent.objects.count() == 1
