"""The production server (python -m ticketsystem.serve: daphne) keeps query strings, where
searches put e-mail addresses and subjects, out of its access log."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.live import daphne as live
from ticketsystem.serve import without_query


def test_a_path_loses_its_query_string():
    assert without_query("/tickets/?q=ann%40example.org&status=open") == "/tickets/?-"
    assert without_query("/admin/tickets/contact/") == "/admin/tickets/contact/"


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "localhost"})
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_access_log_has_paths_but_no_query_strings(db):
    port = live.free_port()
    log = Path(tempfile.mkstemp(prefix="serve-", suffix=".log")[1])
    env = {**os.environ, "DATABASE_URL": live.test_database_url(), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "ticketsystem.serve", "-b", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "ticketsystem.asgi:application"],
            cwd=live.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(port, "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                assert server.poll() is None, log.read_text()
                time.sleep(0.2)
        assert _get(port, "/tickets/?q=ann%40example.org") == 302  # to the login page
        _get(port, "/admin/tickets/contact/?q=bob@example.org")
        time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = log.read_text()
    log.unlink()
    assert '"GET /tickets/?-" 302' in text, text
    assert '"GET /admin/tickets/contact/?-"' in text, text
    assert "example.org" not in text
