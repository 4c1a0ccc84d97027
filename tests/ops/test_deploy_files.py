"""The deployment files: compose, Dockerfile, nginx, cron, firewall and update scripts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from tests.ops.conftest import BASE_DIR

DEPLOY = BASE_DIR / "ops/deploy"
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
SECRET_WORDS = re.compile(
    r"PASSWORD|SECRET|_TOKEN$|KEY|PASSPHRASE|WEBHOOK_URL|DATABASE_URL|REDIS_URL"
)


def test_postgres_is_15_and_neither_database_nor_redis_is_published():
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    for name in ("postgres", "redis"):
        assert "ports" not in SERVICES[name]
        assert SERVICES[name]["networks"] == ["backend"]
    assert COMPOSE["networks"]["backend"]["internal"] is True
    published = {name for name, service in SERVICES.items() if "ports" in service}
    assert published == {"nginx"}
    assert SERVICES["nginx"]["ports"] == ["80:80", "443:443"]


def test_web_runs_daphne_as_a_non_root_user_with_a_healthcheck():
    web = SERVICES["web"]
    assert web["command"][0] == "daphne"
    assert "--proxy-headers" not in web["command"]
    assert web["user"] == "10001:10001"
    assert web["read_only"] is True and web["cap_drop"] == ["ALL"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "/app/ops/deploy/healthcheck.py"]
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert web["environment"]["DJANGO_ENV"] == "production"
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_secret_is_a_docker_secret_file():
    declared = COMPOSE["secrets"]
    for name, service in SERVICES.items():
        env = service.get("environment", {})
        for variable, value in env.items():
            if variable.endswith("_FILE") and variable != "SECURITY_LOG_FILE":
                secret = value.removeprefix("/run/secrets/")
                assert value.startswith("/run/secrets/"), (name, variable)
                assert secret in service["secrets"], (name, variable)
                assert secret in declared
            elif SECRET_WORDS.search(variable):
                pytest.fail(f"{name}: {variable} holds a secret in the environment")
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")
    gitignore = (BASE_DIR / ".gitignore").read_text().splitlines()
    assert "/secrets/" in gitignore


def test_cron_runs_the_crontab_with_backup_drill_and_monitor():
    cron = SERVICES["cron"]
    assert cron["command"] == ["supercronic", "-passthrough-logs", "/app/ops/deploy/crontab"]
    assert cron["user"] == "10001:10001"
    jobs = [
        line.split(None, 5)
        for line in (DEPLOY / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    schedule = {tuple(job[:5]): job[5] for job in jobs}
    assert schedule[("0", "2", "*", "*", "*")] == "python /app/manage.py backup"
    assert schedule[("30", "3", "*", "*", "0")] == "python /app/manage.py verifybackup --latest"
    assert schedule[("*/5", "*", "*", "*", "*")] == "python /app/manage.py monitor"
    assert schedule[("15", "3", "*", "*", "*")] == "python /app/manage.py clearsessions"
    assert schedule[("45", "3", "*", "*", "*")] == "python /app/manage.py purge"
    for command in schedule.values():
        assert command.split()[2] in get_commands()


def test_the_waf_is_an_optional_profile_that_keeps_one_trusted_proxy():
    waf = SERVICES["waf"]
    assert waf["profiles"] == ["waf"]
    assert waf["image"].startswith("owasp/modsecurity-crs:4")
    assert "ports" not in waf
    assert waf["environment"]["REAL_IP_HEADER"] == "X-Forwarded-For"
    assert waf["environment"]["BACKEND"] == "http://web:8000"


def test_the_dockerfile_builds_a_non_root_image_with_static_files_and_tools():
    assert "FROM python:3.11-slim-bookworm" in DOCKERFILE
    assert "postgresql-client-15" in DOCKERFILE and "gnupg" in DOCKERFILE
    assert "RUN sh ops/deploy/collectstatic.sh" in DOCKERFILE
    assert "USER app:app" in DOCKERFILE
    assert "useradd --system --uid 10001" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE and "ops/deploy/healthcheck.py" in DOCKERFILE
    assert "sha1sum -c" in DOCKERFILE  # supercronic is checked before use
    cmd = [line for line in DOCKERFILE.splitlines() if line.startswith("CMD")]
    assert cmd == [
        'CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "ticketsystem.asgi:application"]'
    ]


def test_collectstatic_at_build_time_produces_the_whitenoise_manifest(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_KEY", "_KEYS"))}
    env.pop("DATABASE_URL", None)
    env["STATIC_ROOT"] = str(tmp_path / "static")
    env["TMPDIR"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    result = subprocess.run(
        ["sh", str(DEPLOY / "collectstatic.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "static/staticfiles.json").read_text())
    hashed = manifest["paths"]["css/app.css"]
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / "static" / (hashed + ".gz")).exists()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_healthcheck_script_probes_healthz_on_daphne(tmp_path):
    """The image's probe against the image's server (daphne), production-style hosts."""
    import time

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATA_DIR=str(tmp_path), ALLOWED_HOSTS="helpdesk.example.org")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "ticketsystem.asgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = [sys.executable, str(DEPLOY / "healthcheck.py")]
    try:
        env["HEALTHCHECK_ADDRESS"] = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while subprocess.run(probe, env=env, capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "daphne did not become healthy"
            time.sleep(0.3)
        # A Host outside ALLOWED_HOSTS gets 400: the probe must send an allowed one.
        wrong = subprocess.run(
            probe,
            env={**env, "ALLOWED_HOSTS": "other.example"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert wrong.returncode == 1 and "HTTP 400" in wrong.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    down = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "unhealthy" in down.stderr


def test_nginx_terminates_tls_limits_login_and_passes_the_client_ip():
    site = (DEPLOY / "nginx/templates/ticketsystem.conf.template").read_text()
    proxy = (DEPLOY / "nginx/snippets/proxy.conf").read_text()
    tls = (DEPLOY / "nginx/snippets/tls.conf").read_text()
    assert 'Strict-Transport-Security "max-age=63072000; includeSubDomains; preload" always' in site
    assert "client_max_body_size ${CLIENT_MAX_BODY_SIZE};" in site
    # Attachments never spooled to the proxy's disk in plaintext.
    assert "client_body_buffer_size ${CLIENT_MAX_BODY_SIZE};" in site
    login = site.split("location = /accounts/login/ {", 1)[1].split("}", 1)[0]
    assert "limit_req zone=login" in login
    assert "limit_req_zone $binary_remote_addr zone=login:10m rate=10r/m;" in site
    assert "location = /metrics { return 404; }" in site
    assert "return 301 https://${SITE_HOST}$request_uri;" in site
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in proxy
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in proxy
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls


def _stub(bin_dir: Path, name: str, log: Path, exit_code: int = 0) -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit {exit_code}\n')
    script.chmod(0o755)


def test_the_ufw_script_allows_ssh_before_denying_and_only_opens_22_80_443(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    _stub(bin_dir, "ufw", log)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["sh", str(DEPLOY / "ufw.sh")], env=env, check=True, capture_output=True)
    calls = log.read_text().splitlines()
    assert calls.index("ufw limit 22/tcp comment SSH (rate limited)") < calls.index(
        "ufw default deny incoming"
    )
    opened = [c.split()[2] for c in calls if c.split()[1] in {"allow", "limit"}]
    assert opened == ["22/tcp", "80/tcp", "443/tcp"]
    assert "ufw --force enable" in calls
    bad = subprocess.run(
        ["sh", str(DEPLOY / "ufw.sh")],
        env={**env, "SSH_PORT": "22; rm"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "SSH_PORT must be a port number" in bad.stderr


@pytest.mark.parametrize(("audit_exit", "expected"), [(0, 0), (1, 1)])
def test_the_update_script_audits_pins_backs_up_rebuilds_and_restarts(
    tmp_path, audit_exit, expected
):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    _stub(bin_dir, "docker", log)
    _stub(bin_dir, "pipx", log, exit_code=audit_exit)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["sh", str(DEPLOY / "update.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == expected, result.stdout + result.stderr
    calls = [line.split(" -r ")[0] for line in log.read_text().splitlines()]
    assert calls == [
        "pipx run --spec pip-audit==2.9.0 pip-audit --strict --progress-spinner off",
        "docker compose run --rm --no-deps cron python manage.py backup",
        "docker compose pull --ignore-buildable",
        "docker compose build --pull",
        "docker compose up -d --remove-orphans --wait",
        "docker compose exec -T cron python manage.py securitycheck",
        "docker image prune -f",
    ]
