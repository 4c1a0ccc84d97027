"""A new user in a real browser: password, forced enrolment (the code computed from the
secret shown on the page), dashboard; then a second login with a backup code. And the
admin site working under the Content-Security-Policy."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.conftest import make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "amber-lighthouse-river-58"


def code_for(secret: str) -> str:
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def enrol(page, username: str) -> list[str]:
    """Log in with the password, enrol from the secret on the page; return the backup codes."""
    page.goto("/dashboard/")
    assert page.url.endswith("/accounts/login/?next=%2Fdashboard%2F")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/setup/")
    assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret
    page.fill("#id_code", code_for(secret))
    page.click("text=Confirm")
    page.wait_for_selector("text=Save your backup codes")
    return [code.strip() for code in page.locator("#backup-codes code").all_inner_texts()]


def test_a_new_user_enrols_and_later_logs_in_with_a_backup_code(page, queue_a):
    user = make_user("nina", "agent")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    queue_a.members.add(user)

    codes = enrol(page, "nina")
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    # the page script ran under the CSP (after the translation catalogue it waits for)
    page.wait_for_selector("#download-codes", state="visible")
    page.click("text=I saved my codes")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").first.inner_text()
    assert page.locator(".usermenu").inner_text().startswith("nina")

    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")
    page.fill("#id_username", "nina")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/verify/")
    # Only the code step is reachable now.
    page.goto("/tickets/")
    assert page.url.endswith("/accounts/login/verify/")
    page.fill("#id_code", codes[0].upper())
    page.click("text=Verify")
    page.wait_for_url("**/dashboard/")
    assert "9 of 10 remain" in page.locator(".messages").inner_text()
    assert page.problems == []


def test_the_admin_site_works_under_the_content_security_policy(page):
    user = make_user("root2", "admin")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    enrol(page, "root2")
    page.goto("/admin/")
    assert "Site administration" in page.content()
    page.goto(f"/admin/auth/user/{user.pk}/change/")
    # SelectFilter2.js builds the two-box widget for groups: admin JavaScript runs.
    page.wait_for_selector("#id_groups_from", state="attached")
    assert page.locator(".selector-chooser").count() >= 1
    page.goto("/admin/auth/user/")
    page.check("#action-toggle")  # actions.js counts the selection
    assert page.locator(".action-counter").inner_text().startswith("1 of 1 selected")
    assert page.problems == []
