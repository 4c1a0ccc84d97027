"""The first admin from `make run` logs in with the printed password and is walked
through enrolment."""

from __future__ import annotations

import re

from django.core.management import call_command
from django.test import Client

from accounts.models import TOTPDevice
from tests.accounts.conftest import totp_code


def test_the_first_admin_logs_in_and_must_enrol(db, capsys):
    call_command("bootstrapadmin")
    printed = capsys.readouterr().out
    password = re.search(r"password: (\S+)", printed)[1]
    assert "authenticator app" in printed
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": password}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/accounts/2fa/setup/"
    assert b"Set up two-factor authentication" in response.content
    # Nothing else is reachable before enrolment.
    assert client.get("/admin/", follow=True).redirect_chain[-1][0] == "/accounts/2fa/setup/"
    device = TOTPDevice.objects.get(user__username="admin")
    response = client.post("/accounts/2fa/setup/", {"code": totp_code(device)})
    assert response.status_code == 200 and b"Save your backup codes" in response.content
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/admin/").status_code == 200
