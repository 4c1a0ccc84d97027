"""record_event(): one chained row per event and one escaped log line after commit."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import transaction
from django.test import RequestFactory

from audit.chain import verify_chain
from audit.events import GENESIS, chain_hash, log_line, record_event
from audit.models import SecurityEvent

LINE_RE = re.compile(
    r'^action=(?P<action>[a-z0-9_]+) user="(?P<user>(?:[^"\\]|\\.)*)" ip=(?P<ip>\S+) '
    r'resource="(?P<resource>(?:[^"\\]|\\.)*)" request_id=(?P<rid>\S+) seq=(?P<seq>\d+) hash=(?P<hash>[0-9a-f]{16})$'
)


def test_events_form_a_chain_from_genesis(db, agent):
    first = record_event("login_succeeded", actor=agent, resource=f"user:{agent.pk}")
    second = record_event("logout", actor=agent)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert second.hash == chain_hash(first.hash, second)
    assert first.actor_username == "alice"
    assert verify_chain().ok


def test_it_takes_ip_user_agent_and_request_id_from_the_request(db, agent):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140")
    request.id = "req-12345678"
    event = record_event("access_denied", actor=agent, request=request)
    assert (event.ip, event.user_agent, event.request_id) == (
        "203.0.113.9",
        "Firefox/140",
        "req-12345678",
    )


def test_an_explicit_ip_overrides_the_request_and_is_normalised(db):
    assert record_event("locked_out", username="x", ip="::ffff:192.0.2.1").ip == "192.0.2.1"
    assert record_event("locked_out", username="x", ip="2001:DB8:0:0:0:0:0:1").ip == "2001:db8::1"
    assert record_event("locked_out", username="x", ip="not an ip").ip is None
    assert verify_chain().ok  # what the database returns hashes the same


def test_an_anonymous_actor_is_recorded_by_name_only(db):
    from django.contrib.auth.models import AnonymousUser

    event = record_event("login_failed", actor=AnonymousUser(), username="mallory")
    assert event.actor is None and event.actor_username == "mallory"


def test_it_refuses_malformed_action_names(db):
    for action in ("", "Login", "login failed", "x" * 41, "a\nb"):
        with pytest.raises(ValueError, match="invalid security event action"):
            record_event(action)


def test_nul_and_oversized_values_are_stored_safely(db):
    event = record_event(
        "login_failed", username="ev\x00il" + "x" * 500, details={"k\x00": ["v\x00", float("nan")]}
    )
    stored = SecurityEvent.objects.get(pk=event.pk)
    assert "\x00" not in stored.actor_username and len(stored.actor_username) == 150
    assert stored.details == {"k\ufffd": ["v\ufffd", "nan"]}
    assert verify_chain().ok


def test_the_log_line_has_the_documented_format(db, agent):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="198.51.100.7")
    request.id = "abcdef0123456789"
    event = record_event("login_failed", username="bob", request=request, resource="user:3")
    line = log_line(event)
    assert line == (
        f'action=login_failed user="bob" ip=198.51.100.7 resource="user:3" '
        f"request_id=abcdef0123456789 seq={event.seq} hash={event.hash[:16]}"
    )


def test_missing_ip_and_request_id_are_dashes(db):
    line = log_line(record_event("keys_rotated", username="cli:ops"))
    assert ' ip=- resource="" request_id=- seq=' in line


@pytest.mark.parametrize(
    "hostile",
    [
        'x"\nFAKE action=login_failed user="y" ip=6.6.6.6',
        'a" ip=6.6.6.6 resource="',
        "tab\tand\rreturn\u2028sep",
        "back\\slash\\",
    ],
)
def test_attacker_controlled_text_cannot_forge_lines_or_fields(db, hostile):
    line = log_line(
        record_event("login_failed", username=hostile, resource=hostile, ip="192.0.2.10")
    )
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    match = LINE_RE.match(line)
    assert match is not None, line
    assert match["ip"] == "192.0.2.10"
    assert line.count("ip=") == 1  # '=' inside values is escaped


def test_the_line_is_logged_only_after_commit(db, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="ticketsystem.security")
    with django_capture_on_commit_callbacks(execute=True):
        event = record_event("logout", username="carol")
        assert "action=logout" not in caplog.text
    assert (
        f'action=logout user="carol" ip=- resource="" request_id=- seq={event.seq}' in caplog.text
    )


def test_an_event_rolls_back_with_the_change_it_describes(db, caplog):
    caplog.set_level(logging.INFO, logger="ticketsystem.security")
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event("erased", username="cli")
        raise RuntimeError("the erasure failed")
    assert not SecurityEvent.objects.exists()
    assert "action=erased" not in caplog.text
