"""Idle and absolute session timeouts, enforced on the server for every request."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from accounts.models import UserSession
from tests.accounts.conftest import full_login
from tests.conftest import login


def test_an_idle_session_ends_after_thirty_minutes(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        login(client, staff)
        key = client.session.session_key
        traveller.shift(timedelta(minutes=29, seconds=59))
        assert client.get("/dashboard/").status_code == 200
        traveller.shift(timedelta(minutes=30))
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=%2Fdashboard%2F"
        assert not UserSession.objects.filter(session_key=key).exists()
        page = client.get(response["Location"])
    assert b"period of inactivity" in page.content


def test_activity_keeps_a_session_alive_until_its_absolute_end(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        login(client, staff)
        key = client.session.session_key
        for _ in range(16):  # 16 x 29 min = 7 h 44 min of steady use
            traveller.shift(timedelta(minutes=29))
            assert client.get("/dashboard/").status_code == 200
        traveller.shift(timedelta(minutes=15, seconds=59))
        assert client.get("/dashboard/").status_code == 200
        traveller.shift(timedelta(seconds=1))  # 8 h after login
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=%2Fdashboard%2F"
        assert not UserSession.objects.filter(
            session_key=key, expire_date__gt=timezone.now()
        ).exists()


def test_a_shorter_absolute_limit_applies_to_sessions_already_open(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        login(client, staff)
        with override_settings(SESSION_ABSOLUTE_SECONDS=3600):
            for _ in range(2):
                traveller.shift(timedelta(minutes=29, seconds=30))
                assert client.get("/dashboard/").status_code == 200
            traveller.shift(timedelta(minutes=1))
            response = client.get("/dashboard/")
            assert response.status_code == 302
            page = client.get(response["Location"])
    assert b"maximum length" in page.content


@override_settings(SESSION_IDLE_SECONDS=120, SESSION_ABSOLUTE_SECONDS=600)
def test_both_limits_are_configurable(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        full_login(client, staff, device)
        traveller.shift(timedelta(seconds=121))
        assert client.get("/dashboard/").status_code == 302


def test_the_session_cookie_expires_with_the_absolute_lifetime(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False):
        full_login(client, staff, device)
        expiry = client.session.get_expiry_date()
        assert abs((expiry - timezone.now()).total_seconds() - 8 * 3600) < 2
    assert client.cookies["sessionid"]["max-age"] or client.cookies["sessionid"]["expires"]


def test_a_session_without_our_timestamps_is_not_accepted(client, staff, device):
    login(client, staff)
    session = client.session
    del session["auth_at"]
    session.save()
    assert client.get("/dashboard/").status_code == 302


def test_a_login_without_a_second_factor_is_ended(client, staff, device):
    client.force_login(staff)  # a session our login flow did not make
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
