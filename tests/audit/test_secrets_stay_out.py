"""Secrets never reach the audit trail: not the model history, not a security event, not the
security log line, not the audit pages or their CSV exports."""

from __future__ import annotations

import json
import logging
import re

from auditlog.models import LogEntry
from django.test import Client

from accounts.models import TOTPDevice
from accounts.services import staff_create
from audit.models import SecurityEvent
from tests.accounts.conftest import password_step, totp_code
from tests.conftest import login

PASSWORD = "Quartz-lantern-velvet-93"
WRONG_PASSWORD = "Obsidian-guess-walrus-17"


def _audit_trail(manager) -> str:
    """Everything a manager, an auditor or a log reader can see of the audit trail."""
    history = [
        json.dumps([e.changes, e.changes_text, e.object_repr, e.serialized_data, e.additional_data])
        for e in LogEntry.objects.all()
    ]
    events = [
        json.dumps([e.actor_username, e.resource, e.details, e.user_agent], ensure_ascii=False)
        for e in SecurityEvent.objects.all()
    ]
    pages = login(Client(), manager)
    seen = [
        pages.get(url).content.decode()
        for url in ("/audit/", "/audit/history/", "/audit/history/?model=auth.user")
    ] + [
        b"".join(pages.get(url).streaming_content).decode("utf-8-sig")
        for url in ("/audit/events.csv", "/audit/history.csv")
    ]
    return "\n".join(history + events + seen)


def test_passwords_totp_keys_and_backup_codes_stay_out(
    client, manager, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="ticketsystem.security")
    with django_capture_on_commit_callbacks(execute=True):
        user = staff_create(actor=manager, username="dana", password=PASSWORD, role="agent")
        password_step(client, "dana", WRONG_PASSWORD)
        assert password_step(client, "dana", PASSWORD).status_code == 302
        client.get("/accounts/2fa/setup/")
        device = TOTPDevice.objects.get(user=user)
        wrong_code = f"{(int(totp_code(device)) + 1) % 10**6:06d}"
        client.post("/accounts/2fa/setup/", {"code": wrong_code})
        TOTPDevice.objects.get(pk=device.pk).throttle_reset()  # no waiting for the next try
        response = client.post("/accounts/2fa/setup/", {"code": totp_code(device)})
    codes = re.findall(
        r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.content.decode()
    )
    assert len(codes) == 10
    actions = set(SecurityEvent.objects.values_list("action", flat=True))
    assert {"user_created", "login_failed", "otp_failed", "2fa_enrolled"} <= actions
    user.refresh_from_db()
    secrets = [PASSWORD, WRONG_PASSWORD, user.password, device.key, device.base32_key]
    secrets += codes + [c.replace("-", "") for c in codes]
    trail = _audit_trail(manager) + caplog.text
    assert "dana" in trail  # the trail was really read
    for secret in secrets:
        assert secret not in trail
