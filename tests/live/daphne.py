"""Real daphne processes for tests that cross process boundaries (two servers sharing Redis,
a browser talking to a server). They use the test database, so tests that start them must be
transactional (data committed where another process can read it)."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL, pointed at the database pytest-django created for this run."""
    parsed = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(parsed._replace(path="/" + connection.settings_dict["NAME"]))


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server subprocess, killing it if it has not gone within 10 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Daphne:
    def __init__(
        self, port: int | None = None, *, env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        """``env``: extra environment for the server; ``log``: where its output goes (default:
        a temporary file)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkstemp(prefix="daphne-", suffix=".log")[1])
        self.extra_env = env or {}
        # Left out of the server's environment (a test run's relaxed defaults, say).
        self.unset: tuple[str, ...] = ()
        # The Host header of the readiness probe: one of ALLOWED_HOSTS, as
        # ops/deploy/healthcheck.py sends (None: the address itself).
        self.probe_host: str | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daphne:
        env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": test_database_url(),
            "DJANGO_SETTINGS_MODULE": "ticketsystem.settings",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        for name in self.unset:
            env.pop(name, None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()[2]} exited early:\n{self.output()}")
            try:
                probe = {"Host": self.probe_host} if self.probe_host else {}
                if self.request("GET", "/healthz", headers=probe)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.command()[2]} did not answer within 30 s:\n{self.output()}")

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "ticketsystem.asgi:application",
        ]

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, list[str]], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            found: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                found.setdefault(name.lower(), []).append(value)
            return response.status, found, response.read().decode()
        finally:
            conn.close()

    def post_form(self, page: str, action: str, data: dict[str, str], session_key: str) -> int:
        """Submit a form on a page as a browser would: the page's CSRF token, then the POST."""
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        status, headers, html = self.request("GET", page, headers={"Cookie": cookie})
        assert status == 200, (status, html[:500])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        jar = SimpleCookie()
        for header in headers.get("set-cookie", []):
            jar.load(header)
        csrf = jar[settings.CSRF_COOKIE_NAME].value
        status, _, _ = self.request(
            "POST",
            action,
            body=urlencode({**data, "csrfmiddlewaretoken": token}),
            headers={
                "Cookie": f"{cookie}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.url + page,
            },
        )
        return status


class Gunicorn(Daphne):
    """gunicorn as production runs it (ops/deploy/gunicorn.conf.py), on 127.0.0.1."""

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(BASE_DIR / "ops/deploy/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]


@contextmanager
def gunicorn(port: int | None = None, *, env: dict[str, str] | None = None) -> Iterator[Gunicorn]:
    """Our shipped gunicorn config with two workers (sync, as shipped, unless ``env`` sets
    WEB_THREADS > 1 for gthread workers)."""
    server = Gunicorn(port, env={"WEB_WORKERS": "2", **(env or {})}).start()
    try:
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


@contextmanager
def daphne(port: int | None = None, *, env: dict[str, str] | None = None) -> Iterator[Daphne]:
    server = Daphne(port, env=env).start()
    try:
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)
