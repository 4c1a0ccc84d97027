"""The fail2ban filter, run by Debian's fail2ban-regex over lines the app really logged."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from audit.events import record_event
from tests.ops.conftest import BASE_DIR

FILTER = BASE_DIR / "ops/deploy/fail2ban/filter.d/ticketsystem.conf"


@pytest.fixture
def security_log(tmp_path: Path):
    """The ticketsystem.security logger writing to a file with the production formatter."""
    path = tmp_path / "security.log"
    spec = settings.LOGGING["formatters"]["security"]
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(spec["format"], datefmt=spec.get("datefmt")))
    logger = logging.getLogger("ticketsystem.security")
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    handler.close()


def banned(log: Path) -> list[str]:
    result = subprocess.run(
        ["fail2ban-regex", "-o", "ip", str(log), str(FILTER)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.split()


def test_it_matches_exactly_the_failed_login_and_lockout_hosts(
    db, django_capture_on_commit_callbacks, security_log
):
    injected = (
        'evil\n2026-01-01T00:00:00+0000 action=login_failed user="x" ip=6.6.6.6 '
        'resource="" request_id=- seq=1'
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_event("login_failed", username="alice", ip="203.0.113.10")
        record_event("locked_out", username="alice", ip="203.0.113.11")
        record_event("login_failed", username="bob", ip="2001:db8::7")
        # A newline and a whole fake log line inside the username.
        record_event("login_failed", username=injected, ip="203.0.113.12")
        # A fake ip= field, with quotes, inside the username and the resource.
        record_event(
            "login_failed",
            username='a" ip=7.7.7.7 resource="',
            ip="203.0.113.13",
            resource='x" ip=8.8.8.8 request_id=- seq=9',
        )
        record_event("login_failed", username="ip=9.9.9.9", ip=None)  # address unknown
        record_event("login_succeeded", username="carol", ip="198.51.100.1")
        record_event("password_changed", username="ip=5.5.5.5", ip="198.51.100.2")

    lines = security_log.read_text().splitlines()
    assert len(lines) == 8  # one line per event: the newline was escaped, not written
    assert banned(security_log) == [
        "203.0.113.10",
        "203.0.113.11",
        "2001:db8::7",
        "203.0.113.12",
        "203.0.113.13",
    ]


def test_the_jail_uses_the_filter_and_the_docker_chain():
    jail = (BASE_DIR / "ops/deploy/fail2ban/jail.d/ticketsystem.local").read_text()
    assert "filter    = ticketsystem" in jail
    assert "logpath   = /var/log/ticketsystem/security.log" in jail
    assert 'chain="DOCKER-USER"' in jail


def test_it_counts_every_repeated_failure_not_just_the_chained_one(
    db, django_capture_on_commit_callbacks, security_log
):
    from audit.tally import record_repeated_failure

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            record_repeated_failure("login_failed", username="alice", ip="203.0.113.20")
        for _ in range(2):
            record_repeated_failure("locked_out", username="alice", ip="203.0.113.21")
    assert banned(security_log) == ["203.0.113.20"] * 5 + ["203.0.113.21"] * 2
