"""Fixtures for the login flow: a staff user with a real password, their authenticator,
and helpers that drive the two login steps through the real views."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import BackupCodeDevice, TOTPDevice
from tests.conftest import make_user

PASSWORD = "violet-harbour-lantern-42"


def totp_code(device: TOTPDevice, at: float | None = None) -> str:
    """The code an authenticator app shows at ``at`` (default now) for this device."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def password_step(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def code_step(client: Client, code: str, **extra: Any) -> Any:
    return client.post("/accounts/login/verify/", {"code": code}, **extra)


def full_login(client: Client, user: Any, device: TOTPDevice, at: float | None = None) -> Any:
    response = password_step(client, user.username)
    assert response.status_code == 302, response.content
    return code_step(client, totp_code(device, at))


@pytest.fixture
def staff(db: Any) -> Any:
    user = make_user("alice", "agent")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def device(staff: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(
        user=staff, name="Authenticator app", confirmed=True, key=TOTPDevice.new_key()
    )


@pytest.fixture
def backup_codes(staff: Any, device: TOTPDevice) -> list[str]:
    backup = BackupCodeDevice.objects.create(user=staff, name="Backup codes")
    return backup.replace_codes()
