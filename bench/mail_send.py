"""Mail out: one task worker sending 1 000 queued replies to a local SMTP server (aiosmtpd).

    .venv/bin/python bench/mail_send.py --replies 1000

Creates (or empties) the PostgreSQL database --database on the server of DATABASE_URL,
migrates it, and saves --replies public replies through the reply service (each one queues
its OutboundMail and send task in the same transaction). Then it starts aiosmtpd on a free
port in this process and times one `manage.py db_worker --batch` process (as production runs
it, with Redis for the live delivery events when REDIS_URL is set) until every reply was
received. Prints messages per second, with the worker's start-up and from the first mail to
the last (target: at least 100/s with one worker).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def reset_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    return urlunparse(parsed._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--database", default="ts_mail_bench")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketsystem")

    from tests.mail.dovecot import free_port
    from tests.mail.smtpd import SmtpServer

    class TimedServer(SmtpServer):
        arrivals: list[float] = []

        async def handle_DATA(self, *args: object) -> str:  # aiosmtpd's hook
            self.arrivals.append(time.perf_counter())
            return await super().handle_DATA(*args)  # type: ignore[arg-type]

    server = TimedServer(host="127.0.0.1", port=free_port())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketsystem.settings",
        "DATABASE_URL": reset_database(base_url, args.database),
        "DATA_DIR": tempfile.mkdtemp(prefix="ts-mail-bench-"),
        "TASKS_BACKEND": "database",
        "EMAIL_HOST": server.host,
        "EMAIL_PORT": str(server.port),
        "EMAIL_USE_TLS": "false",
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "60",  # as the worker service runs (docker-compose.yml)
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ENV", None)
    os.environ.update(env)
    migrate = [sys.executable, "manage.py", "migrate", "-v0"]
    subprocess.run(migrate, env=env, cwd=BASE_DIR, check=True)

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django_tasks_db.models import DBTaskResult

    from tickets import services
    from tickets.actors import SystemActor
    from tickets.models import Queue

    queue = Queue.objects.create(name="Bench", slug="bench", email_address="support@bench.example")
    agent = get_user_model().objects.create(username="bench-agent", email="agent@bench.example")
    queue.members.add(agent)
    agent.groups.add(Group.objects.get(name="agent"))
    start = time.perf_counter()
    for n in range(args.replies):
        if n % 50 == 0:  # a realistic spread: 50 replies per ticket and requester
            contact = services.contact_get_or_create(
                actor=SystemActor("bench"), email=f"requester{n}@bench.example", name=f"R {n}"
            )
            ticket = services.ticket_create(
                actor=agent, queue=queue, subject=f"Bench ticket {n}", contact=contact
            )
        services.comment_add(actor=agent, ticket=ticket, body=f"Reply number {n}.\n" * 5)
    queued = DBTaskResult.objects.filter(status="READY").count()
    print(f"queued {queued} send tasks in {time.perf_counter() - start:.1f} s")

    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--no-reload",
                "--interval=0",
                "-v0",
            ],
            env=env,
            cwd=BASE_DIR,
            check=True,
        )
        server.wait_for(args.replies, timeout=60)
        elapsed = time.perf_counter() - start
    finally:
        controller.stop()
    steady = server.arrivals[-1] - server.arrivals[0]
    print(f"{'replies':>8} {'seconds':>8} {'messages/s':>11}  (one worker; target >= 100/s)")
    print(f"{args.replies:>8} {elapsed:>8.2f} {args.replies / elapsed:>11.0f}  with process start")
    print(
        f"{args.replies - 1:>8} {steady:>8.2f} {(args.replies - 1) / steady:>11.0f}  first to last mail"
    )


if __name__ == "__main__":
    main()
