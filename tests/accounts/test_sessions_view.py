"""/accounts/sessions/: list your sessions, sign out one or all others."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import UserSession
from audit.models import SecurityEvent
from tests.accounts.conftest import code_step, password_step, totp_code
from tests.conftest import login

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def sids(user):
    return set(UserSession.objects.filter(user=user).values_list("sid", flat=True))


def test_it_lists_each_session_with_browser_ip_and_activity(client, staff, device):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        phone = Client(HTTP_USER_AGENT=SAFARI, REMOTE_ADDR="198.51.100.7")
        password_step(phone, "alice")
        code_step(phone, totp_code(device))
        traveller.shift(timedelta(seconds=31))  # the next code: each code works once
        desk = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.9")
        password_step(desk, "alice")
        code_step(desk, totp_code(device))
        response = desk.get("/accounts/sessions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Firefox 128 on Linux" in page and "this session" in page
    assert "Safari 17 on iOS" in page
    assert "198.51.100.7" in page and "203.0.113.9" in page
    assert page.count("Sign out</button>") == 1  # only for the other session


def test_it_does_not_show_session_keys(client, staff, device):
    login(client, staff)
    response = client.get("/accounts/sessions/")
    assert client.session.session_key.encode() not in response.content


def test_it_signs_out_one_other_session(client, staff, device):
    other = Client()
    login(other, staff)
    login(client, staff)
    other_sid = UserSession.objects.get(session_key=other.session.session_key).sid
    response = client.post(f"/accounts/sessions/{other_sid}/revoke/")
    assert response.status_code == 302
    assert other.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    event = SecurityEvent.objects.get(action="session_revoked")
    assert event.details == {"scope": "one", "count": 1}


def test_it_cannot_sign_out_someone_elses_session(client, staff, device, agent_b):
    victim = Client()
    login(victim, agent_b)
    login(client, staff)
    victim_sid = UserSession.objects.get(user=agent_b).sid
    response = client.post(f"/accounts/sessions/{victim_sid}/revoke/")
    assert response.status_code == 404
    assert victim.get("/dashboard/").status_code == 200


def test_it_does_not_revoke_the_current_session_by_handle(client, staff, device):
    login(client, staff)
    mine = UserSession.objects.get(session_key=client.session.session_key).sid
    assert client.post(f"/accounts/sessions/{mine}/revoke/").status_code == 404
    assert client.get("/dashboard/").status_code == 200


def test_it_signs_out_all_other_sessions(client, staff, device):
    others = [Client(), Client()]
    for other in others:
        login(other, staff)
    login(client, staff)
    assert len(sids(staff)) == 3
    response = client.post("/accounts/sessions/revoke-others/")
    assert response.status_code == 302
    assert all(other.get("/dashboard/").status_code == 302 for other in others)
    assert client.get("/dashboard/").status_code == 200
    assert len(sids(staff)) == 1
    assert SecurityEvent.objects.get(action="session_revoked").details == {
        "scope": "others",
        "count": 2,
    }


def test_revoking_needs_post(client, staff, device):
    login(client, staff)
    assert client.get("/accounts/sessions/revoke-others/").status_code == 405


@pytest.mark.parametrize("sid", ["%00", "x" * 5000, "%ED%A0%80", "ABCDEF" * 6, "../sessions"])
def test_a_malformed_session_handle_is_404(client, staff, device, sid):
    login(client, staff)
    assert client.post(f"/accounts/sessions/{sid}/revoke/").status_code == 404
    assert client.get("/dashboard/").status_code == 200


def test_signing_out_all_others_is_recorded_even_when_none_are_left(client, staff, device):
    login(client, staff)
    assert client.post("/accounts/sessions/revoke-others/").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert SecurityEvent.objects.get(action="session_revoked").details == {
        "scope": "others",
        "count": 0,
    }


def test_a_well_formed_unknown_session_handle_is_404_and_not_recorded(client, staff, device):
    login(client, staff)
    assert client.post(f"/accounts/sessions/{'0' * 32}/revoke/").status_code == 404
    assert not SecurityEvent.objects.filter(action="session_revoked").exists()


@pytest.mark.django_db
def test_the_store_loads_a_live_session_and_not_an_expired_or_unknown_one():
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import UserSession
    from accounts.session_store import SessionStore

    session = SessionStore()
    session["note"] = "kept"
    session.create()
    assert SessionStore(session.session_key).load() == {"note": "kept"}
    UserSession.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(session.session_key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore("x" * 32).load() == {}
