"""The admin site needs a verified second factor; admins can reset a user's 2FA; a
deactivated user's sessions end."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from accounts.models import BackupCodeDevice, TOTPDevice, UserSession
from audit.models import SecurityEvent
from tests.accounts.conftest import PASSWORD, password_step
from tests.conftest import login


def test_a_verified_manager_reaches_the_admin(client, manager):
    login(client, manager)
    assert client.get("/admin/").status_code == 200


def test_a_password_alone_does_not_reach_the_admin(client, manager):
    manager.set_password(PASSWORD)
    manager.save(update_fields=["password"])
    TOTPDevice.objects.create(user=manager, name="app", confirmed=True, key=TOTPDevice.new_key())
    password_step(client, "maria")
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/auth/user/").status_code == 302
    assert client.get("/admin/", follow=True).redirect_chain[-1][0] == "/accounts/login/verify/"


def test_the_admin_login_form_is_replaced_by_the_two_step_login(client, db):
    response = client.get("/admin/login/?next=/admin/auth/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fauth%2Fuser%2F"
    # Posting credentials to the admin's own form logs nobody in.
    response = client.post("/admin/login/", {"username": "root", "password": "x"})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_admin_password_form_is_replaced_by_the_accounts_page(client, manager):
    # Django's admin form checks the current password without the lockout, records no
    # security event and sends no notice: there is one way to change a password.
    manager.set_password(PASSWORD)
    manager.save(update_fields=["password"])
    login(client, manager)
    new = "quiet-meadow-copper-917"
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/"
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/"


def test_an_agent_is_refused_by_the_admin(client, agent):
    login(client, agent)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_an_admin_can_reset_a_users_two_factor(
    client, admin_user, staff, device, backup_codes, django_capture_on_commit_callbacks
):
    victim = Client()
    login(victim, staff)
    login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/auth/user/",
            {"action": "reset_two_factor", "_selected_action": [staff.pk]},
        )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert not BackupCodeDevice.objects.filter(user=staff).exists()
    assert victim.get("/dashboard/").status_code == 302
    event = SecurityEvent.objects.get(action="2fa_reset")
    assert event.actor_id == admin_user.pk and event.resource == f"user:{staff.pk}"
    assert mail.outbox[-1].to == ["alice@example.org"]
    # Next login: straight to enrolment.
    response = password_step(Client(), "alice")
    assert response["Location"] == "/accounts/2fa/setup/"


def test_the_user_list_shows_who_has_two_factor(client, admin_user, staff, device, agent_b):
    login(client, admin_user)
    response = client.get("/admin/auth/user/")
    assert response.status_code == 200
    rows = {
        re.search(r'/admin/auth/user/\d+/change/">([^<]+)<', row)[1]: row
        for row in re.findall(r"<tr>.*?</tr>", response.content.decode(), re.S)
        if "/change/" in row
    }
    assert 'alt="True"' in rows["alice"]  # enrolled
    assert 'alt="False"' in rows["bob"]  # never enrolled


def test_deactivating_a_user_ends_all_their_sessions(client, admin_user, staff, device):
    sessions = [Client(), Client()]
    for session in sessions:
        login(session, staff)
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    assert not UserSession.objects.filter(user=staff).exists()
    assert all(session.get("/dashboard/").status_code == 302 for session in sessions)
    assert SecurityEvent.objects.get(action="session_revoked").details["reason"] == "deactivated"


def test_an_admin_setting_a_users_password_is_audited_and_the_user_told(
    client, admin_user, staff, device, django_capture_on_commit_callbacks
):
    victim = Client()
    login(victim, staff)
    login(client, admin_user)
    new = "quiet-meadow-copper-917"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/auth/user/{staff.pk}/password/",
            {"password1": new, "password2": new, "usable_password": "true"},
        )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(new)
    event = SecurityEvent.objects.get(action="password_changed")
    assert event.actor_id == admin_user.pk and event.resource == f"user:{staff.pk}"
    assert new not in str(event.details)
    assert not UserSession.objects.filter(user=staff).exists()
    assert victim.get("/dashboard/").status_code == 302
    assert mail.outbox[-1].to == ["alice@example.org"]
    assert new not in mail.outbox[-1].body
    assert client.get("/admin/").status_code == 200  # the admin's own session goes on
