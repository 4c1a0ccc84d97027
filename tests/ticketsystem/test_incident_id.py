"""A 500 shows its incident id (X-Request-ID); every log line of the request carries it; a
failing database logs one traceback per distinct error per minute, not one per request."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from ticketsystem.logfilters import RepeatedTracebackFilter


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes (its filters and format included)."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    for log_filter in handler.filters:
        if isinstance(log_filter, RepeatedTracebackFilter):
            log_filter.seen.clear()
    try:
        yield buffer
    finally:
        handler.setStream(old)


@pytest.fixture
def boom_client(settings, agent_client) -> Client:
    settings.ROOT_URLCONF = "tests.ticketsystem.boom_urls"
    agent_client.raise_request_exception = False
    return agent_client


def test_the_500_page_shows_the_incident_id_that_the_log_lines_carry(boom_client, console):
    response = boom_client.get("/boom/", HTTP_X_REQUEST_ID="incident-0001")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "incident-0001"
    assert b"<code>incident-0001</code>" in response.content
    lines = [line for line in console.getvalue().splitlines() if " [" in line]
    assert any("about to fail" in line and "[incident-0001]" in line for line in lines)
    assert any(
        "Internal Server Error: /boom/" in line and "[incident-0001]" in line for line in lines
    )


def test_a_generated_id_is_shown_too(boom_client, console):
    response = boom_client.get("/boom/")
    assert response["X-Request-ID"].encode() in response.content
    assert f"[{response['X-Request-ID']}]" in console.getvalue()


def test_a_repeated_error_logs_one_traceback_per_minute(boom_client, console):
    ids = [boom_client.get("/boom/").headers["X-Request-ID"] for _ in range(5)]
    output = console.getvalue()
    assert output.count("Traceback (most recent call last)") == 1
    for request_id in ids:  # every failed request still has its one line
        assert f"[{request_id}] Internal Server Error: /boom/" in output
    assert output.count("traceback logged earlier") == 4


def test_lines_outside_a_request_carry_a_dash(console):
    logging.getLogger("ops").warning("from cron")
    assert "[-] from cron" in console.getvalue()
