"""A real nginx in front of test servers, configured from OUR shipped files: the template
ops/deploy/nginx/templates/ticketsystem.conf.template (rendered as the official image's
envsubst does, for the same four variables) and the snippets it includes. So a test through
it also proves that the shipped configuration loads and routes pages and /ws/ correctly.

Only what a test run cannot have is changed, each by an exact replacement that fails loudly
when the shipped text moves (see ``TEST_ONLY``): ports and paths (no root, no /etc, no
/run/secrets), a throwaway self-signed certificate for ``localhost``, the per-client request
rates (every browser of a test run is one client at 127.0.0.1, far faster than a person),
and, on an nginx older than 1.25.1 (Debian 12 ships 1.22), ``http2 on;`` spelled as the
older ``listen ... http2`` parameter.
"""

from __future__ import annotations

import http.client
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from tests.binaries import require_binary
from tests.live.daphne import BASE_DIR, free_port, stop_process
from tests.tlscert import write_self_signed_cert

SHIPPED = BASE_DIR / "ops/deploy/nginx"
SITE_HOST = "localhost"
# NGINX_ENVSUBST_FILTER in docker-compose.yml: only these are substituted.
ENVSUBST = ("SITE_HOST", "APP_UPSTREAM", "WS_UPSTREAM", "CLIENT_MAX_BODY_SIZE")
# Per-client rates for a test run (shipped: 10r/m, 20r/s, 30r/m); bursts and caps stay.
TEST_RATES = {"zone=login:10m": "6000r/m", "zone=general:20m": "1000r/s", "zone=ws:10m": "6000r/m"}


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for localhost, valid for a day; (cert path, key path)."""
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    write_self_signed_cert(cert_path, key_path)
    return cert_path, key_path


def envsubst(text: str, values: dict[str, str]) -> str:
    """What the image's envsubst does with NGINX_ENVSUBST_FILTER: ``${NAME}`` and ``$NAME`` for
    the listed names only; nginx's own variables ($host, $request_uri ...) stay."""
    names = "|".join(ENVSUBST)
    return re.sub(
        rf"\$\{{({names})\}}|\$({names})\b",
        lambda m: values[m.group(1) or m.group(2)],
        text,
    )


def _replace(text: str, old: str, new: str, *, where: str) -> str:
    if old not in text:
        raise AssertionError(f"{where} no longer contains {old!r}: update tests/live/nginx.py")
    return text.replace(old, new)


def nginx_version() -> tuple[int, ...]:
    result = subprocess.run(
        [require_binary("nginx"), "-v"], capture_output=True, text=True, check=True
    )
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr)
    assert found, result.stderr
    return tuple(int(part) for part in found.groups())


class Nginx:
    """nginx as the current user, under a temporary prefix, in the foreground; HTTPS on
    ``https://localhost:<port>``, pages to ``app_port``, /ws/ to ``ws_port``."""

    def __init__(self, *, app_port: int, ws_port: int) -> None:
        self.app_port, self.ws_port = app_port, ws_port
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://{SITE_HOST}:{self.https_port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="nginx-"))
        self.process: subprocess.Popen[bytes] | None = None

    def render(self) -> Path:
        """Write the configuration (main file, site, snippets) and return the main file."""
        p = self.prefix
        for name in ("snippets", "conf.d", "acme", "temp"):
            (p / name).mkdir(exist_ok=True)
        cert, key = self_signed_certificate(p)
        secrets = {
            "/run/secrets/tls_certificate": str(cert),
            "/run/secrets/tls_private_key": str(key),
        }
        for snippet in (SHIPPED / "snippets").glob("*.conf"):
            text = snippet.read_text(encoding="utf-8")
            for old, new in secrets.items():
                text = text.replace(old, new)
            (p / "snippets" / snippet.name).write_text(text, encoding="utf-8")
        template = SHIPPED / "templates/ticketsystem.conf.template"
        site = envsubst(
            template.read_text(encoding="utf-8"),
            {
                "SITE_HOST": SITE_HOST,
                "APP_UPSTREAM": f"127.0.0.1:{self.app_port}",
                "WS_UPSTREAM": f"127.0.0.1:{self.ws_port}",
                "CLIENT_MAX_BODY_SIZE": "11m",  # docker-compose.yml's default
            },
        )
        for old, new in self.test_only(secrets):
            site = _replace(site, old, new, where=template.name)
        for zone, rate in TEST_RATES.items():
            site, found = re.subn(rf"({re.escape(zone)} rate=)\S+;", rf"\g<1>{rate};", site)
            assert found == 1, f"{template.name}: no limit_req_zone {zone} with a rate"
        (p / "conf.d/ticketsystem.conf").write_text(site, encoding="utf-8")
        main = p / "nginx.conf"
        main.write_text(self.main_config(), encoding="utf-8")
        return main

    def test_only(self, secrets: dict[str, str]) -> list[tuple[str, str]]:
        """The replacements a test run needs (see the module docstring)."""
        p = self.prefix
        changes = [
            ("listen 80 default_server", f"listen 127.0.0.1:{self.http_port} default_server"),
            ("listen [::]:80 default_server", f"listen [::1]:{self.http_port} default_server"),
            ("listen 443 ssl", f"listen 127.0.0.1:{self.https_port} ssl"),
            ("listen [::]:443 ssl", f"listen [::1]:{self.https_port} ssl"),
            ("/var/log/nginx/access.log", str(p / "access.log")),
            ("/etc/nginx/snippets/", f"{p / 'snippets'}/"),
            ("/var/www/acme", str(p / "acme")),
            *secrets.items(),
        ]
        if nginx_version() < (1, 25, 1):
            changes += [
                ("http2 on;\n", ""),
                (f":{self.https_port} ssl", f":{self.https_port} ssl http2"),
            ]
        return changes

    def main_config(self) -> str:
        """The official image's nginx.conf, with every path under the prefix."""
        p, temp = self.prefix, self.prefix / "temp"
        return f"""worker_processes 1;
error_log {p / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {p / "conf.d"}/*.conf;
}}
"""

    def start(self) -> Nginx:
        config = self.render()
        command = [
            require_binary("nginx"),
            "-p",
            f"{self.prefix}/",
            "-c",
            str(config),
            "-e",
            str(self.prefix / "error.log"),
            "-g",
            f"daemon off; pid {self.prefix / 'nginx.pid'};",
        ]
        with (self.prefix / "stderr.log").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{self.output()}")
            try:
                if self.get("/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not answer within 15 s:\n{self.output()}")

    def get(self, path: str) -> tuple[int, str]:
        """GET through nginx over HTTPS (the throwaway certificate is not checked)."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(SITE_HOST, self.https_port, timeout=10, context=context)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            conn.close()

    def output(self) -> str:
        logs = [self.prefix / "stderr.log", self.prefix / "error.log"]
        return "\n".join(log.read_text(errors="replace")[-3000:] for log in logs if log.exists())

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def remove(self) -> None:
        shutil.rmtree(self.prefix, ignore_errors=True)
