"""Requests per second over HTTP through the production layout: pages through gunicorn
(ops/deploy/gunicorn.conf.py), and for comparison through daphne; a bare Django view under
both servers is the ceiling. wrk when installed (apt-get install wrk), else a bounded
Python client (threads with keep-alive connections).

    createdb -h 127.0.0.1 -U postgres ts_bench   # once; the bench migrates and seeds it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ts_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/http_load.py --tickets 100000 --duration 15 --connections 16

With --sockets N (e.g. 500), the gunicorn pages are loaded twice in the same run: alone,
then while bench/ws_fanout.py holds N live dashboard sockets on daphne (one process per
core) and changes tickets at --socket-rate per second (20), all against the same PostgreSQL
and Redis; it prints the HTTP table for both and the sockets' latency (commit to receipt).

Logged in as an agent with a verified second factor (a session made as the two-step login
leaves it). Use a database of its own: the bench adds users, tickets and sessions.
(Not bench/http.py: that name would hide the standard library's `http` from every script
in this folder.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
SERVER_ENV = {
    "ALLOWED_HOSTS": "127.0.0.1",
    "THROTTLE_POST_PER_MINUTE": "100000",
    "THROTTLE_SEARCH_PER_MINUTE": "100000",
    "LOG_LEVEL": "ERROR",
}
os.environ.update({k: v for k, v in SERVER_ENV.items() if k != "ALLOWED_HOSTS"})


def start(kind: str, app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """gunicorn or daphne serving ``app`` on 127.0.0.1:port, once it answers."""
    if kind == "gunicorn":
        conf = str(BASE_DIR / "ops/deploy/gunicorn.conf.py")
        command = ["-m", "gunicorn", "-c", conf, "--bind", f"127.0.0.1:{port}", app]
    else:
        command = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=BASE_DIR,
        env={**os.environ, **SERVER_ENV, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz" if "ticketsystem" in app else "/")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} {app} did not start")


def run_wrk(url: str, cookie: str, duration: int, connections: int) -> dict[str, float]:
    found = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", cookie, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\b", found, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|errors: .*?): (\d+)", found)
    )
    for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", found):
        errors += int(n)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", found).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": errors,
    }


def run_python(url: str, cookie: str, duration: int, connections: int) -> dict[str, float]:
    """Bounded client: ``connections`` threads, each one keep-alive connection."""
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    name, value = cookie.split(": ", 1)
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + duration

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", "/" + path, headers={name: value})
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]  # noqa: E731
    return {
        "rps": len(latencies) / duration,
        "p50": pick(0.5),
        "p99": pick(0.99),
        "errors": errors[0],
    }


def prepare(tickets: int) -> tuple[str, dict[str, str]]:
    """Seed, then a verified agent session; returns the Cookie header and the page paths."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.core.management import call_command
    from django.db import connection

    from accounts import session_policy
    from accounts.models import TOTPDevice
    from tickets.models import Ticket
    from ticketsystem.roles import AGENT

    call_command("migrate", verbosity=0)
    have = Ticket.objects.count()
    if have < tickets:
        call_command("seeddemo", tickets=tickets - have, seed=have + 1)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    agent = (
        get_user_model()
        .objects.filter(groups__name=AGENT, queues__isnull=False)
        .order_by("id")
        .first()
    )
    device = TOTPDevice.objects.filter(user=agent, confirmed=True).first() or (
        TOTPDevice.objects.create(
            user=agent, name="bench", confirmed=True, key=TOTPDevice.new_key()
        )
    )
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session_policy.stamp_verified(session, device=device, ip="127.0.0.1", now=time.time())
    session.create()
    queue_id = agent.queues.order_by("id").first().pk
    busy = Ticket.objects.filter(queue_id=queue_id).order_by("-id").first()
    pages = {
        "dashboard": "/dashboard/",
        "list, page 1": "/tickets/",
        "list, filter": f"/tickets/?status=open&queue={queue_id}&priority=2",
        "detail": busy.get_absolute_url(),
    }
    connection.close()
    return f"Cookie: {settings.SESSION_COOKIE_NAME}={session.session_key}", pages


def pages_with_sockets(
    args: argparse.Namespace, load: Any, cookie: str, pages: dict[str, str], port: int
) -> tuple[list[tuple[str, str, dict[str, float]]], dict[str, Any]]:
    """The gunicorn pages (one server for all) while bench/ws_fanout.py holds the sockets and
    changes tickets; returns the HTTP rows and the fan-out result."""
    tmp = Path(tempfile.mkdtemp(prefix="http-ws-"))
    ready, result = tmp / "ready", tmp / "ws.json"
    seconds = len(pages) * (args.duration + 2) + 10  # the page loads, warm-ups and slack
    fanout = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "bench/ws_fanout.py"),
            f"--clients={args.sockets}",
            f"--rates={args.socket_rate}",
            f"--duration={seconds}",
            f"--ready-file={ready}",
            f"--json={result}",
        ],
        cwd=BASE_DIR,
        env={**os.environ, "LOG_LEVEL": "ERROR"},
        stdout=subprocess.DEVNULL,
    )
    rows = []
    server = start("gunicorn", "ticketsystem.wsgi:application", port, {})
    try:
        while not ready.exists():
            if fanout.poll() is not None:
                raise SystemExit("bench/ws_fanout.py stopped before its sockets were ready")
            time.sleep(0.2)
        for name, path in pages.items():
            url = f"http://127.0.0.1:{port}{path}"
            load(url, cookie, 2, args.connections)
            rows.append(
                ("gunicorn + sockets", name, load(url, cookie, args.duration, args.connections))
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    if fanout.wait(timeout=seconds + 300) != 0:
        raise SystemExit("bench/ws_fanout.py failed")
    fan = json.loads(result.read_text())[0]
    shutil.rmtree(tmp, ignore_errors=True)
    return rows, fan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--skip-daphne-pages", action="store_true")
    parser.add_argument(
        "--sockets", type=int, default=0, help="load the gunicorn pages again beside N sockets"
    )
    parser.add_argument("--socket-rate", type=int, default=20, help="ticket changes per second")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    load = run_wrk if use_wrk else run_python
    cookie, pages = prepare(args.tickets)

    cases: list[tuple[str, str, str, str]] = [
        ("gunicorn", "bench.bare_app:application", "bare view", "/"),
        ("daphne", "bench.bare_app:asgi_application", "bare view", "/"),
    ]
    cases += [("gunicorn", "ticketsystem.wsgi:application", n, p) for n, p in pages.items()]
    if not args.skip_daphne_pages:
        cases += [("daphne", "ticketsystem.asgi:application", n, p) for n, p in pages.items()]
    rows = []
    port = 18_400
    for kind, app, name, path in cases:
        port += 1
        server = start(kind, app, port, {})
        try:
            url = f"http://127.0.0.1:{port}{path}"
            load(url, cookie, 2, args.connections)  # warm up workers, pools, caches
            rows.append((kind, name, load(url, cookie, args.duration, args.connections)))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:  # daphne waits for open connections
                server.kill()
                server.wait(timeout=10)

    fan = None
    if args.sockets:
        more, fan = pages_with_sockets(args, load, cookie, pages, port + 1)
        rows += more

    print(
        f"\n{args.tickets} tickets (at least), {args.connections} connections, "
        f"{args.duration} s per endpoint, client {'wrk' if use_wrk else 'python'}, "
        f"{os.cpu_count()} cores, gunicorn workers "
        f"{os.environ.get('WEB_WORKERS') or 2 * (os.cpu_count() or 1) + 1}"
        f" x threads {os.environ.get('WEB_THREADS', '1')}\n"
    )
    print("| server | endpoint | req/s | p50 ms | p99 ms | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind, name, r in rows:
        print(
            f"| {kind} | {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {r['errors']} |"
        )
    if fan is not None:
        daphnes = sorted(k for k in fan["cpu"] if k.startswith("daphne"))
        print(
            f"\nMeanwhile {fan['clients']} sockets on {len(daphnes)} daphne process(es), "
            f"{fan['rate']} changes/s ({fan['events']} changes):\n"
        )
        print("| sockets | changes/s | p50 ms | p95 ms | p99 ms | max ms | lost | daphne cpu % |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        cpu = ", ".join(f"{fan['cpu'][name]:.0f}" for name in daphnes)
        print(
            f"| {fan['clients']} | {fan['rate']} | {fan['p50']:.1f} | {fan['p95']:.1f} "
            f"| {fan['p99']:.1f} | {fan['max']:.1f} | {fan['lost']} | {cpu} |"
        )


if __name__ == "__main__":
    main()
