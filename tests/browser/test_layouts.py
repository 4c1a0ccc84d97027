"""The serving layouts themselves (tests/live/layouts.py), so that every other browser test
running in both means what it says: in production nginx (our shipped template) answers over
TLS and routes pages to gunicorn and /ws/ to daphne; cookies, static files and the client
address are production's. In dev one daphne serves everything over plain HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest

from audit.models import SecurityEvent
from tests.browser.conftest import in_browser
from tests.browser.test_live_dashboard import live_state, open_as
from tests.live.conftest import live_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_pages_and_sockets_reach_the_servers_the_layout_names(
    browser: Any, live_site: Any, agent: Any
) -> None:
    page = open_as(browser, live_site.url, live_session(agent))
    try:
        response = page.goto("/dashboard/")
        assert response.status == 200
        live_state(page, "live")
        headers = response.all_headers()
    finally:  # its socket closed before the database is flushed
        in_browser(lambda p: p.context.close(), page)
    pages, sockets = live_site.pages.output(), live_site.sockets.output()
    assert re.search(r"WSCONNECT /ws/dashboard/", sockets), sockets
    assert re.search(r'"GET /dashboard/" 200|GET /dashboard/ 200', pages), pages
    if live_site.layout == "production":
        assert live_site.url.startswith("https://localhost:")
        assert "GET /dashboard/" not in sockets  # daphne sees /ws/ only
        assert "WSCONNECT" not in pages
        assert headers["strict-transport-security"].startswith("max-age=")
    else:
        assert live_site.url.startswith("http://127.0.0.1:")
        assert live_site.pages is live_site.sockets
    assert page.problems == []


def test_cookies_and_static_files_are_the_layouts_own(page: Any, live_site: Any) -> None:
    page.goto("/accounts/login/")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    stylesheet = page.locator("link[rel=stylesheet]").first.get_attribute("href")
    css = page.request.get(stylesheet)
    assert css.status == 200
    if live_site.layout == "production":
        assert cookies["__Host-csrftoken"]["secure"] is True
        # Collected by ops/deploy/collectstatic.sh: hashed names, cached for ever (WhiteNoise).
        assert re.search(r"\.[0-9a-f]{12}\.css$", stylesheet), stylesheet
        assert "immutable" in css.headers["cache-control"]
    else:
        assert cookies["csrftoken"]["secure"] is False
        assert re.search(r"/[a-z_-]+\.css$", stylesheet), stylesheet
    assert page.problems == []


def test_a_failed_login_is_logged_with_the_address_the_server_saw(
    page: Any, live_site: Any, agent: Any
) -> None:
    """A client's own X-Forwarded-For never names it: in dev nothing is trusted, in
    production only the entry our nginx appends (TRUSTED_PROXY_COUNT=1)."""
    page.set_extra_http_headers({"X-Forwarded-For": "203.0.113.9"})
    page.goto("/accounts/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-the-password-at-all")
    page.click("button[type=submit]")
    page.locator(".errorlist, [role=alert]").first.wait_for()
    event = SecurityEvent.objects.filter(action="login_failed").latest("seq")
    assert event.ip in {"127.0.0.1", "::1"}
