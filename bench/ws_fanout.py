"""Websocket fan-out bench: N live dashboard sockets on daphne with Redis, a stream of ticket
changes, latency from commit to receipt.

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/ws_fanout.py --clients 100,500,1000 --rates 10,20,50 --duration 30

For every (clients, rate) pair it starts fresh client processes, connects the sockets spread
over the daphne processes (one per core by default), then changes tickets through the real
service (tickets.services.ticket_change_subject) at the given rate for --duration seconds.
Each change's commit time is taken in an on_commit callback registered before the service's
own publishing callback; each client stamps every event it receives. It prints p50/p95/p99
latency, lost and duplicated events, frames per socket per second, and the CPU (% of one
core) and peak memory of each daphne process, of Redis and of the client processes.

Needs the database migrated (the bench runs migrate) and Redis; uses its own queue, tickets,
users and sessions (named bench-*), and deletes its sessions at the end. Sockets only connect
to 127.0.0.1. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
SEQ = re.compile(rb'"subject":"bench \d+ (\d+)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")

if TYPE_CHECKING:
    from tests.live.daphne import Daphne


# --- client worker (a separate process: python bench/ws_fanout.py --worker) ------------------


async def worker_main() -> None:
    """Connect the sockets named on stdin, record (seq, time) of every event, report on stdin's
    "stop". Speaks one JSON line per message on stdin/stdout."""
    import websockets

    job = json.loads(sys.stdin.readline())
    seqs, times = array("q"), array("d")
    frames = 0
    closed = 0
    close_codes: dict[str, int] = {}
    sockets = []
    stopping = False

    async def listen(ws) -> None:
        nonlocal frames, closed
        try:
            async for message in ws:
                now = time.time()
                data = message if isinstance(message, bytes) else message.encode()
                if data.startswith(b'{"type":"batch"'):
                    frames += 1
                    for match in SEQ.finditer(data):
                        seqs.append(int(match.group(1)))
                        times.append(now)
        except websockets.ConnectionClosed:
            pass
        if not stopping:
            closed += 1
            code = str(ws.close_code)
            close_codes[code] = close_codes.get(code, 0) + 1

    async def open_one(url: str, key: str):
        ws = await websockets.connect(
            url,
            additional_headers={"Cookie": f"{job['cookie']}={key}", "Origin": job["origin"][url]},
            compression=None,
            max_queue=None,
            ping_interval=None,
            open_timeout=60,
        )
        await ws.recv()  # hello
        return ws

    targets = job["targets"]
    for start in range(0, len(targets), 50):
        batch = targets[start : start + 50]
        sockets += await asyncio.gather(*(open_one(url, key) for url, key in batch))
    tasks = [asyncio.ensure_future(listen(ws)) for ws in sockets]
    print(json.dumps({"ready": len(sockets)}), flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()  # "stop"
    stopping = True
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    out = Path(job["out"])
    with out.open("wb") as handle:
        seqs.tofile(handle)
        times.tofile(handle)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "count": len(seqs),
                "frames": frames,
                "closed_early": closed,
                "close_codes": close_codes,
                "cpu": usage.ru_utime + usage.ru_stime,
            }
        ),
        flush=True,
    )


# --- the driver ------------------------------------------------------------------------------


@dataclass
class Proc:
    """CPU and memory of a process, read from /proc between two points in time."""

    pid: int
    name: str
    start_ticks: int = 0
    start_time: float = 0.0
    peak_rss_kb: int = 0
    samples: list[float] = field(default_factory=list)

    def ticks(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def begin(self) -> None:
        self.start_ticks, self.start_time, self.peak_rss_kb = self.ticks(), time.time(), 0

    def sample(self) -> None:
        self.peak_rss_kb = max(self.peak_rss_kb, self.rss_kb())

    def cpu_percent(self) -> float:
        elapsed = time.time() - self.start_time
        return 100 * (self.ticks() - self.start_ticks) / CLK_TCK / elapsed if elapsed else 0.0


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
    import django

    django.setup()


def prepare(n_sessions: int, n_users: int, n_tickets: int) -> tuple[list[str], object, list[int]]:
    """The bench's queue, tickets, users (agents with a confirmed TOTP device) and sessions."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts import session_policy
    from accounts.models import TOTPDevice
    from tickets import services
    from tickets.models import Queue, Ticket

    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    agent_group = Group.objects.get(name="agent")
    queue, _ = Queue.objects.get_or_create(slug="bench-fanout", defaults={"name": "Bench fan-out"})
    users = []
    for i in range(n_users):
        user, created = user_model.objects.get_or_create(username=f"bench-agent-{i:03d}")
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.add(agent_group)
            queue.members.add(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, name="bench", confirmed=True, key=TOTPDevice.new_key()
            )
        users.append((user, device))
    actor = users[0][0]
    tickets = list(Ticket.objects.filter(queue=queue).values_list("pk", flat=True)[:n_tickets])
    while len(tickets) < n_tickets:
        tickets.append(services.ticket_create(actor=actor, queue=queue, subject="bench").pk)
    keys = []
    now = time.time()
    for i in range(n_sessions):
        user, device = users[i % len(users)]
        # What the two-step login leaves in a session (accounts/views.py).
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session_policy.stamp_verified(session, device=device, ip="127.0.0.1", now=now)
        session.create()
        keys.append(session.session_key)
    return keys, actor, tickets


def drop_sessions(keys: list[str]) -> None:
    from django.contrib.sessions.models import Session

    for start in range(0, len(keys), 500):
        Session.objects.filter(session_key__in=keys[start : start + 500]).delete()


def start_daphnes(count: int, window_ms: int | None, log_dir: str | None) -> list[Daphne]:
    """Daphne processes on free ports, each answering /healthz (the tests' own helper)."""
    from tests.live.daphne import Daphne

    env = {
        "LOG_LEVEL": "INFO" if log_dir else "WARNING",
        # Every bench socket comes from 127.0.0.1: the per-address handshake limit (120 a
        # minute) is for the internet, not for this measurement of fan-out.
        "LIVE_HANDSHAKES_PER_MINUTE_PER_IP": "100000",
        "LIVE_HANDSHAKES_PER_MINUTE_PER_USER": "100000",
    }
    if window_ms is not None:
        env["LIVE_COALESCE_MS"] = str(window_ms)
    servers: list[Daphne] = []
    try:
        for i in range(count):
            log = Path(log_dir, f"daphne-{i + 1}.log") if log_dir else None
            servers.append(Daphne(env=env, log=log).start())
    except RuntimeError as exc:
        stop_daphnes(servers, keep_logs=bool(log_dir))
        raise SystemExit(str(exc)) from None
    return servers


def stop_daphnes(servers: list[Daphne], *, keep_logs: bool) -> None:
    for server in servers:
        server.stop()
        if not keep_logs:
            server.log.unlink(missing_ok=True)


def redis_pid() -> int | None:
    import redis

    try:
        return int(redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["process_id"])
    except Exception:
        return None


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def drive(
    actor: object, tickets: list[int], rate: int, duration: float, run_id: int
) -> tuple[dict[int, float], float]:
    """Change tickets at `rate` per second; {seq: commit time}, and the worst lag behind the
    schedule. Changes run in a thread like a Django view's, so their publishing reuses this
    loop's channel layer connection as it does inside daphne."""
    from asgiref.sync import sync_to_async
    from django.db import transaction

    from tickets import services
    from tickets.models import Ticket

    commits: dict[int, float] = {}

    def change(seq: int) -> None:
        ticket = Ticket(pk=tickets[seq % len(tickets)])
        with transaction.atomic():
            transaction.on_commit(lambda: commits.__setitem__(seq, time.time()))
            services.ticket_change_subject(
                actor=actor, ticket=ticket, subject=f"bench {run_id} {seq}"
            )

    total = int(rate * duration)
    start = time.monotonic()
    worst_lag = 0.0
    for seq in range(total):
        due = start + seq / rate
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            worst_lag = max(worst_lag, -wait)
        await sync_to_async(change)(seq)
    return commits, worst_lag


async def run_case(
    args, keys, actor, tickets, servers, clients: int, rate: int, run_id: int
) -> dict:
    from django.conf import settings

    workers = max(1, min(args.client_procs, clients))
    targets = [
        (f"ws://127.0.0.1:{servers[i % len(servers)].port}/ws/dashboard/", keys[i])
        for i in range(clients)
    ]
    origins = {f"ws://127.0.0.1:{s.port}/ws/dashboard/": s.url for s in servers}
    tmp = Path(tempfile.mkdtemp(prefix="ws-fanout-"))
    procs = []
    for w in range(workers):
        job = {
            "targets": targets[w::workers],
            "cookie": settings.SESSION_COOKIE_NAME,
            "origin": origins,
            "out": str(tmp / f"worker-{w}.bin"),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=BASE_DIR,
        )
        process.stdin.write((json.dumps(job) + "\n").encode())
        await process.stdin.drain()
        procs.append(process)
    for process in procs:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=300)
        if not line:
            raise SystemExit("a client worker failed to connect its sockets")
    await asyncio.sleep(args.settle)

    watched = [Proc(server.process.pid, f"daphne-{i + 1}") for i, server in enumerate(servers)]
    if (pid := redis_pid()) is not None:
        watched.append(Proc(pid, "redis"))
    client_watch = [Proc(process.pid, f"clients-{i + 1}") for i, process in enumerate(procs)]
    for proc in watched + client_watch:
        proc.begin()

    async def sample() -> None:
        while True:
            for proc in watched + client_watch:
                proc.sample()
            await asyncio.sleep(0.5)

    sampler = asyncio.ensure_future(sample())
    if args.ready_file:  # bench/http_load.py --sockets starts its HTTP load now
        Path(args.ready_file).write_text(f"{clients} sockets, {rate} changes/s\n")
    commits, lag = await drive(actor, tickets, rate, args.duration, run_id)
    await asyncio.sleep(args.grace)
    cpu = {proc.name: proc.cpu_percent() for proc in watched + client_watch}
    sampler.cancel()
    rss = {proc.name: proc.peak_rss_kb / 1024 for proc in watched}

    reports = []
    for process in procs:
        process.stdin.write(b"stop\n")
        await process.stdin.drain()
    for process in procs:
        reports.append(json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=120)))
        await process.wait()

    latencies: list[float] = []
    received = duplicates = unexpected = 0
    per_socket_frames = sum(r["frames"] for r in reports)
    for w, report in enumerate(reports):
        raw = (tmp / f"worker-{w}.bin").read_bytes()
        count = report["count"]
        seqs, times = array("q"), array("d")
        seqs.frombytes(raw[: count * 8])
        times.frombytes(raw[count * 8 :])
        # Each worker holds several sockets: a seq seen more often than its sockets is a duplicate.
        seen: dict[int, int] = {}
        for seq, at in zip(seqs, times, strict=True):
            committed = commits.get(seq)
            if committed is None:
                unexpected += 1
                continue
            seen[seq] = seen.get(seq, 0) + 1
            latencies.append((at - committed) * 1000)
        sockets_here = len(targets[w::workers])
        for n in seen.values():
            received += min(n, sockets_here)
            duplicates += max(0, n - sockets_here)
        (tmp / f"worker-{w}.bin").unlink()
    tmp.rmdir()
    expected = len(commits) * clients
    latencies.sort()
    return {
        "clients": clients,
        "rate": rate,
        "events": len(commits),
        "expected": expected,
        "lost": expected - received,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "frames_per_socket_s": per_socket_frames / clients / (args.duration + args.grace),
        "closed_early": sum(r["closed_early"] for r in reports),
        "close_codes": [r["close_codes"] for r in reports],
        "lag": lag * 1000,
        "cpu": cpu,
        "rss": rss,
    }


def print_table(results: list[dict], args) -> None:
    daphnes = [name for name in results[0]["cpu"] if name.startswith("daphne")]
    head = (
        f"{'clients':>7} {'chg/s':>5} {'events':>6} {'lost':>6} {'dup':>4} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'fr/s/sock':>9} "
        + " ".join(f"{name + ' cpu%':>13}" for name in daphnes)
        + " "
        + " ".join(f"{name + ' MB':>12}" for name in daphnes)
        + f" {'redis cpu%':>10} {'clients cpu%':>12} {'<250ms,0 lost':>13}"
    )
    print()
    print(
        f"ws fan-out: {len(daphnes)} daphne process(es), LIVE_COALESCE_MS="
        f"{args.window_ms if args.window_ms is not None else 'default'}, duration {args.duration:g} s, "
        f"{os.cpu_count()} cores"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        client_cpu = sum(v for k, v in r["cpu"].items() if k.startswith("clients"))
        meets = r["lost"] == 0 and r["p95"] < 250
        print(
            f"{r['clients']:>7} {r['rate']:>5} {r['events']:>6} {r['lost']:>6} {r['duplicates']:>4} "
            f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {r['max']:>7.1f} {r['frames_per_socket_s']:>9.1f} "
            + " ".join(f"{r['cpu'][name]:>13.0f}" for name in daphnes)
            + " "
            + " ".join(f"{r['rss'][name]:>12.0f}" for name in daphnes)
            + f" {r['cpu'].get('redis', float('nan')):>10.0f} {client_cpu:>12.0f} {'yes' if meets else 'no':>13}"
        )
        if r["closed_early"] or r["unexpected"] or r["lag"] > 100:
            print(
                f"        note: {r['closed_early']} sockets closed early {r['close_codes']}, {r['unexpected']} unknown events, "
                f"driver worst lag {r['lag']:.0f} ms"
            )
    print("target: 500 clients at 20 changes/s, p95 < 250 ms, nothing lost")


async def main_async(args) -> None:
    clients_list = [int(x) for x in args.clients.split(",")]
    rates = [int(x) for x in args.rates.split(",")]
    keys, actor, tickets = await asyncio.to_thread(
        prepare, max(clients_list), min(max(clients_list), args.users), args.tickets
    )
    servers = start_daphnes(args.servers, args.window_ms, args.daphne_logs)
    results = []
    try:
        run_id = int(time.time())
        for clients in clients_list:
            for rate in rates:
                result = await run_case(args, keys, actor, tickets, servers, clients, rate, run_id)
                run_id += 1
                results.append(result)
                print(
                    f"  {clients} clients x {rate}/s: p95 {result['p95']:.1f} ms, lost {result['lost']}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stop_daphnes(servers, keep_logs=bool(args.daphne_logs))
        await asyncio.to_thread(drop_sessions, keys)
    if results:
        print_table(results, args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))


def main() -> None:
    if "--worker" in sys.argv:
        asyncio.run(worker_main())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="100,500,1000", help="socket counts, comma separated")
    parser.add_argument(
        "--rates", default="10,20,50", help="ticket changes per second, comma separated"
    )
    parser.add_argument("--duration", type=float, default=30, help="seconds of changes per case")
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 1, help="daphne processes")
    parser.add_argument("--client-procs", type=int, default=1, help="client processes")
    parser.add_argument("--window-ms", type=int, default=None, help="LIVE_COALESCE_MS for daphne")
    parser.add_argument("--users", type=int, default=50, help="distinct agents behind the sockets")
    parser.add_argument("--tickets", type=int, default=50, help="tickets the changes cycle through")
    parser.add_argument(
        "--settle", type=float, default=2, help="seconds between connecting and changing"
    )
    parser.add_argument("--grace", type=float, default=3, help="seconds to wait for stragglers")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--daphne-logs", help="directory for the daphne processes' logs (INFO)")
    parser.add_argument(
        "--ready-file", help="written when the sockets are open and the changes begin"
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL and REDIS_URL (PostgreSQL and Redis), as for the tests")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1000 sockets need the descriptors
    setup_django()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
