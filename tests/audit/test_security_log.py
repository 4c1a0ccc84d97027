"""The ticketsystem.security log line as fail2ban reads it: only the real client address can
ever be extracted, whatever a username contains."""

from __future__ import annotations

import logging
import subprocess

from django.conf import settings

from audit.events import log_line, record_event

# The filter documented in docs/security.md, and a careless regex for comparison.
FILTER = (
    "[Definition]\n"
    'failregex = ^ action=(?:login_failed|locked_out) user="(?:[^"\\\\]|\\\\.)*" ip=<HOST> \n'
    "datepattern = ^%%Y-%%m-%%dT%%H:%%M:%%S%%z\n"
)
CARELESS = r"action=(?:login_failed|locked_out) .*?ip=<HOST>"


def _format(line: str) -> str:
    spec = settings.LOGGING["formatters"]["security"]
    formatter = logging.Formatter(spec["format"], datefmt=spec["datefmt"])
    record = logging.LogRecord("ticketsystem.security", logging.INFO, __file__, 0, line, None, None)
    return formatter.format(record)


def _banned(log_file, regex: str) -> list[str]:
    result = subprocess.run(
        ["fail2ban-regex", "-r", "-o", "ip", str(log_file), regex],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return sorted(set(result.stdout.split()))


def test_fail2ban_extracts_only_real_client_addresses(db, tmp_path):
    lines = [
        log_line(record_event("login_failed", username='x" ip=6.6.6.6 "', ip="192.0.2.1")),
        log_line(
            record_event(
                "login_failed", username="y ip=7.7.7.7", resource="ip=8.8.8.8", ip="192.0.2.2"
            )
        ),
        log_line(
            record_event(
                "locked_out",
                username='z\n2026-01-01T00:00:00+0000 action=login_failed user="q" ip=9.9.9.9 ',
                ip="192.0.2.3",
            )
        ),
        log_line(record_event("login_succeeded", username="ok", ip="192.0.2.4")),
        log_line(record_event("logout", username="ok", ip="192.0.2.5")),
    ]
    log_file = tmp_path / "security.log"
    log_file.write_text("\n".join(_format(line) for line in lines) + "\n")
    assert len(log_file.read_text().splitlines()) == 5
    filter_file = tmp_path / "ticketsystem.conf"
    filter_file.write_text(FILTER)
    assert _banned(log_file, str(filter_file)) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert _banned(log_file, CARELESS) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
