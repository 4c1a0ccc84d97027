"""Screenshots for the documentation (docs/img/), from seeded demo data in a fresh database.

Drops and recreates --database on the server of DATABASE_URL, migrates, seeds it with
`manage.py seeddemo` (300 tickets: demo data only, no "Bench ticket" rows), serves the app with
daphne on a free port, and photographs a demo agent's dashboard, ticket list and a ticket in
English and German at 1280x800, and the list on a phone at 390x844, with Debian's Chromium:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/screenshots.py [--out docs/img] [--tickets 300]

writes dashboard-en.png, list-en.png, ticket-en.png, the same three as -de.png, and
list-mobile-en.png. Not a test; run it after a change to the pages and commit the images.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketsystem.settings")
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ZONE = "Europe/Berlin"


def fresh_database(name: str) -> str:
    """Drop and create the database; its URL (same server and user as DATABASE_URL)."""
    import psycopg

    server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    admin = urlunparse(server._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(server._replace(path=f"/{name}"))


def seed(tickets: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seeddemo", tickets=tickets, seed=13)


def agent_session(language: str) -> tuple[str, str]:
    """A demo agent's session with a verified second factor (as the two-step login leaves
    it), in this language and Europe/Berlin; returns (cookie name, session key)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    from accounts import preferences, session_policy
    from accounts.models import TOTPDevice
    from ticketsystem.roles import AGENT

    agent = get_user_model().objects.filter(groups__name=AGENT).order_by("id").first()
    device = TOTPDevice.objects.filter(user=agent, confirmed=True).first() or (
        TOTPDevice.objects.create(user=agent, name="demo", confirmed=True, key=TOTPDevice.new_key())
    )
    preferences.preference_save(actor=agent, language=language, time_zone=ZONE)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session_policy.stamp_verified(session, device=device, ip="127.0.0.1", now=time.time())
    session[preferences.SESSION_KEY] = preferences.session_value(agent)
    session.create()
    return settings.SESSION_COOKIE_NAME, session.session_key


def busy_ticket_url() -> str:
    """An open ticket of the agent's queues with the longest conversation."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from tickets.models import Status, Ticket
    from ticketsystem.roles import AGENT

    agent = get_user_model().objects.filter(groups__name=AGENT).order_by("id").first()
    ticket = (
        Ticket.objects.filter(queue__members=agent, status=Status.OPEN)
        .annotate(n=Count("comments"))
        .order_by("-n", "-id")
        .first()
    )
    return ticket.get_absolute_url()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(port: int, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """daphne serving the app (pages and websockets) once /healthz answers."""
    env = {**os.environ, "DATABASE_URL": database_url, "ALLOWED_HOSTS": "127.0.0.1"}
    command = ["-m", "ticketsystem.serve", "-b", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *command, "ticketsystem.asgi:application"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not answer within 60 s")


def shoot(base_url: str, out: Path, ticket_url: str, sessions: dict[str, tuple[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        shots = [
            (lang, DESKTOP, name, path)
            for lang in ("en", "de")
            for name, path in (
                ("dashboard", "/dashboard/"),
                ("list", "/tickets/"),
                ("ticket", ticket_url),
            )
        ]
        shots.append(("en", PHONE, "list-mobile", "/tickets/"))
        for language, viewport, name, path in shots:
            cookie, key = sessions[language]
            context = browser.new_context(
                base_url=base_url,
                viewport=viewport,
                locale="de-DE" if language == "de" else "en-GB",
                timezone_id=ZONE,
                device_scale_factor=1,
            )
            context.add_cookies([{"name": cookie, "value": key, "url": base_url}])
            page = context.new_page()
            page.goto(path)
            live = page.locator("[data-live-status]")
            if live.count():  # wait until the live indicator says "Live"
                live.first.wait_for(state="visible")
                page.wait_for_function(
                    "() => document.querySelector('[data-live-status]')"
                    ".getAttribute('data-state') === 'live'",
                    timeout=10_000,
                )
            target = out / f"{name}-{language}.png"
            page.screenshot(path=str(target))
            print(
                f"wrote {target.relative_to(BASE_DIR) if target.is_relative_to(BASE_DIR) else target}"
            )
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=BASE_DIR / "docs" / "img")
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--database", default="ts_screenshots")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")
    if not 1 <= args.tickets <= 100_000:
        parser.error("--tickets: between 1 and 100000")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)

    url = fresh_database(args.database)
    os.environ["DATABASE_URL"] = url
    seed(args.tickets)
    sessions = {language: agent_session(language) for language in ("en", "de")}
    ticket_url = busy_ticket_url()
    from django.db import connection

    connection.close()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        server = serve(port, url, Path(tmp) / "server.log")
        try:
            shoot(f"http://127.0.0.1:{port}", args.out.resolve(), ticket_url, sessions)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
