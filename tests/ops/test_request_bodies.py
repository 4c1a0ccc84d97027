"""No plaintext request body on disk, and one body cap, under the servers we ship: gunicorn
(pages in production), daphne (websockets in production, everything in `make run`). Real
processes; a large upload is sent slowly, and the temporary directories and every file the
server processes hold open are searched for its marker while it is still arriving."""

from __future__ import annotations

import os
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.live.daphne import daphne, gunicorn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def gunicorn_gthread(**kwargs: Any) -> Any:
    return gunicorn(env={"WEB_THREADS": "2", **kwargs.pop("env", {})}, **kwargs)


# gunicorn's sync workers (as shipped), its gthread workers (WEB_THREADS > 1), and daphne.
SERVERS = {"gunicorn": gunicorn, "gunicorn-gthread": gunicorn_gthread, "daphne": daphne}


def _process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _holds(handle_path: str, marker: bytes) -> bool:
    tail = b""
    try:
        with open(handle_path, "rb") as handle:  # a /proc fd link: the file may be deleted
            while chunk := handle.read(1 << 20):
                if marker in tail + chunk:
                    return True
                tail = chunk[-len(marker) :]
    except OSError:
        return False
    return False


def files_with(marker: bytes, pid: int, temp_dirs: list[Path], since: float) -> list[str]:
    """Every open file of the server's processes, and every file written since ``since`` in
    the temporary directories, that contains ``marker``."""
    hits = []
    for process in _process_tree(pid):
        for fd in Path(f"/proc/{process}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            is_file = target.startswith("/") and not target.startswith(("/proc/", "/dev/null"))
            if is_file and _holds(str(fd), marker):
                hits.append(f"pid {process} fd {fd.name} -> {target}")
    for directory in temp_dirs:
        for root, _, names in os.walk(directory):
            for name in names:
                path = Path(root, name)
                try:
                    recent = path.stat().st_mtime >= since
                except OSError:
                    continue
                if recent and _holds(str(path), marker):
                    hits.append(str(path))
    return hits


def _multipart(marker: bytes, size: int) -> tuple[str, bytes]:
    boundary = "b" + secrets.token_hex(8)
    payload = (marker + b"\n") * (size // (len(marker) + 1))
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
            f'filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def _head(port: int, length: int | None, content_type: str, chunked: bool = False) -> bytes:
    lines = [
        "POST /accounts/login/ HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: {content_type}",
        "Connection: close",
        # A CSRF cookie without a form token: the server must read the whole body to refuse.
        f"Cookie: {settings.CSRF_COOKIE_NAME}={'a' * 32}",
    ]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(sock: socket.socket) -> int:
    sock.settimeout(30)
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("name", SERVERS)
def test_a_large_upload_sent_slowly_is_never_written_to_a_file(name, tmp_path):
    marker = ("MARKER-" + secrets.token_hex(16)).encode()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    since = time.time() - 1
    with SERVERS[name](env={"TMPDIR": str(temp_dir)}) as server:
        content_type, body = _multipart(marker, 3 * 1024 * 1024)
        temp_dirs = [temp_dir, Path("/tmp"), Path("/var/tmp")]  # noqa: S108 (searched, not used)
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(_head(server.port, len(body), content_type))
            sent = 0
            while sent < len(body) * 2 // 3:  # two thirds, 64 kB at a time, then wait
                sock.sendall(body[sent : sent + 65536])
                sent += 65536
                time.sleep(0.005)
            time.sleep(1)
            assert files_with(marker, server.process.pid, temp_dirs, since) == []
            sock.sendall(body[sent:])
            assert _status(sock) == 403  # read whole, then refused: no CSRF token
        assert files_with(marker, server.process.pid, temp_dirs, since) == []


@pytest.mark.parametrize("name", SERVERS)
def test_a_body_over_the_cap_is_answered_413(name):
    cap = 65536
    with SERVERS[name](env={"REQUEST_MAX_BODY_BYTES": str(cap)}) as server:
        body = b"x" * (cap + 1)
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(_head(server.port, len(body), "application/octet-stream") + body)
            assert _status(sock) == 413
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(_head(server.port, cap, "application/x-www-form-urlencoded"))
            sock.sendall(b"a" * cap)
            assert _status(sock) == 403  # at the cap: read, then refused for its missing token


def test_daphne_refuses_a_chunked_body_that_grows_past_the_cap():
    cap = 65536
    with (
        daphne(env={"REQUEST_MAX_BODY_BYTES": str(cap)}) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock,
    ):
        sock.sendall(_head(server.port, None, "application/octet-stream", chunked=True))
        for _ in range(3):
            sock.sendall(b"8000\r\n" + b"y" * 0x8000 + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        assert _status(sock) == 413


def _backends() -> set[tuple[int, object]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return set(cursor.fetchall())


@pytest.mark.parametrize("threads", [1, 2])
def test_gunicorn_reuses_a_bounded_pool_of_database_connections(threads):
    # Connections other processes of the suite still hold are not gunicorn's.
    others = _backends()
    with gunicorn(env={"WEB_WORKERS": "2", "WEB_THREADS": str(threads)}) as web:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: web.request("GET", "/readyz")[0], range(40)))
        assert set(statuses) <= {200, 503}  # readiness reads the database either way
        held = _backends() - others
        assert 1 <= len(held) <= 2 * threads  # workers x threads, kept open between requests
        for _ in range(10):
            web.request("GET", "/readyz")
        now = _backends() - others
        # The same connections serve the later requests (a pool may still open one more in
        # the background, up to its size), and the pools never grow past workers x threads.
        assert held & now
        assert len(now) <= 2 * threads
