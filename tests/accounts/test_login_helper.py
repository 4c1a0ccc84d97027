"""tests.conftest.login() leaves the same session as the real two-step login."""

from __future__ import annotations

from django.test import Client

from accounts import session_policy
from tests.accounts.conftest import full_login
from tests.conftest import login


def test_the_helper_session_matches_a_real_login(staff, device):
    real = Client()
    full_login(real, staff, device)
    helper = login(Client(), staff)
    real_session, helper_session = real.session, helper.session
    assert set(real_session.keys()) == set(helper_session.keys())
    for key in ("_auth_user_id", "_auth_user_backend", "_auth_user_hash", "otp_device_id"):
        assert real_session[key] == helper_session[key], key
    assert session_policy.session_end_reason(helper_session) is None
    assert helper.get("/dashboard/").status_code == 200


def test_the_helper_enrols_a_user_without_an_authenticator(agent):
    client = login(Client(), agent)
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200
