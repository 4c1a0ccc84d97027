"""A request's second factor is checked with the user's own query (accounts/second_factor.py):
the same rule as django-otp's device read, without the read."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.backends import StaffBackend
from accounts.models import BackupCodeDevice, TOTPDevice
from accounts.second_factor import OTPMiddleware
from tests.conftest import make_user


def device_of(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.get_or_create(
        user=user, defaults={"confirmed": True, "key": TOTPDevice.new_key()}
    )[0]


def set_session_device(client: Any, persistent_id: str) -> None:
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = persistent_id
    session.save()


def device_reads(queries: CaptureQueriesContext) -> list[str]:
    tables = ('SELECT "accounts_totpdevice"', 'SELECT "accounts_backupcodedevice"')
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(tables)]


def test_a_page_reads_no_device_row(agent_client):
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get("/dashboard/").status_code == 200
    assert device_reads(queries) == []


def test_a_deleted_device_ends_the_session_on_the_next_request(agent_client, agent):
    device_of(agent).delete()
    response = agent_client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in agent_client.session


def test_an_unconfirmed_device_verifies_nobody(agent_client, agent):
    device = device_of(agent)
    device.confirmed = False
    device.save(update_fields=["confirmed"])
    assert agent_client.get("/dashboard/").status_code == 302


def test_another_users_device_verifies_nobody(agent_client, db):
    other = make_user("mallory", "agent")
    theirs = TOTPDevice.objects.create(user=other, confirmed=True, key=TOTPDevice.new_key())
    set_session_device(agent_client, theirs.persistent_id)
    assert agent_client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    "persistent_id",
    ["accounts.totpdevice/x", "accounts.totpdevice/999999", "otp_static.staticdevice/1", "junk"],
)
def test_a_session_naming_no_confirmed_device_verifies_nobody(agent_client, persistent_id):
    set_session_device(agent_client, persistent_id)
    assert agent_client.get("/dashboard/").status_code == 302


def test_a_session_verified_by_backup_code_stays_verified(agent_client, agent):
    backup = BackupCodeDevice.objects.create(user=agent, name="Backup codes")
    set_session_device(agent_client, backup.persistent_id)
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get("/dashboard/").status_code == 200
    assert device_reads(queries) == []


def verify(user: Any, persistent_id: str) -> Any:
    request = RequestFactory().get("/")
    request.session = {DEVICE_ID_SESSION_KEY: persistent_id}
    return OTPMiddleware(lambda r: HttpResponse())._verify_user_sync(request, user)


def test_the_device_row_is_read_only_when_asked_for(agent):
    device = device_of(agent)
    user = StaffBackend().get_user(agent.pk)
    with CaptureQueriesContext(connection) as queries:
        assert verify(user, device.persistent_id).is_verified()
    assert len(queries) == 0
    assert (user.otp_device.pk, user.otp_device.name) == (device.pk, device.name)


def test_a_user_loaded_without_the_ids_is_checked_by_django_otp(agent):
    device = device_of(agent)
    user = ModelBackend().get_user(agent.pk)
    with CaptureQueriesContext(connection) as queries:
        assert verify(user, device.persistent_id).otp_device == device
    assert len(device_reads(queries)) == 1
    device.delete()
    assert not verify(ModelBackend().get_user(agent.pk), device.persistent_id).is_verified()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_the_async_path_answers_from_the_user_row_too(agent):
    from channels.db import database_sync_to_async

    device = await database_sync_to_async(device_of)(agent)
    user = await database_sync_to_async(StaffBackend().get_user)(agent.pk)
    request = RequestFactory().get("/")

    async def auser() -> Any:
        return user

    middleware = OTPMiddleware(lambda r: HttpResponse())
    request.session = {DEVICE_ID_SESSION_KEY: device.persistent_id}
    assert (await middleware._verify_user_async_via_auser(request, auser)).is_verified()
    request.session = {DEVICE_ID_SESSION_KEY: f"{device.model_label()}/{device.pk + 1}"}
    assert not (await middleware._verify_user_async_via_auser(request, auser)).is_verified()
    assert request.session == {}
