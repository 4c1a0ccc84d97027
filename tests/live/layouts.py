"""The two ways the app is served, as real processes on the test database:

- ``dev``: ``make run``, one daphne for pages and websockets, plain HTTP, development settings.
- ``production``: docker-compose.yml's layout. nginx from our shipped template and snippets
  (tests/live/nginx.py) terminates TLS and routes by path: pages to gunicorn with our shipped
  ops/deploy/gunicorn.conf.py, /ws/ to daphne as the ``ws`` service runs it
  (ticketsystem/serve.py). Both app servers run with DJANGO_ENV=production and the settings
  docker-compose.yml gives them (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, TRUSTED_PROXY_COUNT=1),
  every production default left as it is: secure ``__Host-`` cookies, HTTPS redirect, HSTS,
  exact websocket origins, static files collected by ops/deploy/collectstatic.sh and served
  hashed and compressed by WhiteNoise. The keys are the test run's (tests/testenv.py), so a
  session made in the test process is valid on the servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live.daphne import BASE_DIR, Daphne, Gunicorn, daphne
from tests.live.nginx import SITE_HOST, Nginx

LAYOUTS = ("dev", "production")
# Production defaults the test environment may have relaxed for other tests: never passed on.
RELAXED = ("DEBUG", "SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")


@dataclass(frozen=True)
class LiveSite:
    """A running site: its base URL, the process serving pages and the one serving /ws/ (in
    dev the same daphne)."""

    layout: str
    url: str
    pages: Daphne
    sockets: Daphne


def session_cookie_name(base_url: str) -> str:
    """The session cookie's name at a site: over HTTPS (production) the servers use secure
    cookies, which settings.py names with the __Host- prefix."""
    return "__Host-sessionid" if base_url.startswith("https://") else "sessionid"


class Serve(Daphne):
    """daphne as the ``ws`` service runs it: ``python -m ticketsystem.serve``."""

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ticketsystem.serve",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "ticketsystem.asgi:application",
        ]


def collect_static(static_root: Path) -> None:
    """ops/deploy/collectstatic.sh, as the image build runs it, into ``static_root``."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        ["sh", str(BASE_DIR / "ops/deploy/collectstatic.sh")],
        cwd=BASE_DIR,
        env={**os.environ, "PATH": path, "STATIC_ROOT": str(static_root)},
        check=True,
        capture_output=True,
        timeout=300,
    )


def production_env(*, origin: str, static_root: Path) -> dict[str, str]:
    """What the app servers get on top of the test run's environment (its database, Redis
    and keys): docker-compose.yml's settings, for this host and port."""
    return {
        "DJANGO_ENV": "production",
        "ALLOWED_HOSTS": SITE_HOST,
        "CSRF_TRUSTED_ORIGINS": origin,
        "TRUSTED_PROXY_COUNT": "1",  # nginx, at 127.0.0.1 (TRUSTED_PROXY_IPS' default)
        "STATIC_ROOT": str(static_root),
        "MAIL_SITE_URL": origin,
    }


@contextmanager
def dev_site() -> Iterator[LiveSite]:
    with daphne() as server:
        yield LiveSite("dev", server.url, server, server)


@contextmanager
def production_site() -> Iterator[LiveSite]:
    scratch = Path(tempfile.mkdtemp(prefix="production-layout-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        web, ws = Gunicorn(), Serve()
        proxy = Nginx(app_port=web.port, ws_port=ws.port)
        stack.callback(proxy.remove)
        env = production_env(origin=proxy.url, static_root=scratch / "static")
        collect_static(scratch / "static")
        # Three sync workers, as shipped (2 x cores + 1 on one core): parallel page loads.
        # Its access log on (paths only), so a test can see which server answered what.
        web.extra_env = {**env, "WEB_WORKERS": "3", "WEB_ACCESS_LOG": "on"}
        ws.extra_env = env
        for server in (web, ws):
            server.probe_host = SITE_HOST
            server.unset = RELAXED
            stack.callback(server.log.unlink, missing_ok=True)
            stack.callback(server.stop)
            server.start()
        stack.callback(proxy.stop)
        proxy.start()
        yield LiveSite("production", proxy.url, web, ws)


def live_site(layout: str) -> AbstractContextManager[LiveSite]:
    """The site for a layout name (one of LAYOUTS)."""
    return {"dev": dev_site, "production": production_site}[layout]()
