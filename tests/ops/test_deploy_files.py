"""The deployment files: compose, Dockerfile, nginx, cron, firewall and update scripts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from django.core.management import get_commands
from django.db import connection
from psycopg import sql

from tests.live.daphne import free_port
from tests.ops.backup_helpers import forge_set, only_set, read_manifest, write_manifest
from tests.ops.conftest import BASE_DIR, DB_PREFIX, manage, server_params

DEPLOY = BASE_DIR / "ops/deploy"
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
INIT_SCRIPT = DEPLOY / "postgres/initdb/10-app-role.sh"
APP_SERVICES = ("migrate", "web", "ws", "cron")
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


def test_the_app_connects_as_its_own_role_never_as_the_postgres_superuser():
    postgres = SERVICES["postgres"]
    env = postgres["environment"]
    assert env["POSTGRES_USER"] == "postgres"
    assert env["APP_DB_USER"] == "ticketsystem" != env["POSTGRES_USER"]
    assert "POSTGRES_DB" not in env  # the init script makes the app's database, owned by its role
    assert env["APP_DB_PASSWORD_FILE"] == "/run/secrets/app_db_password"
    assert postgres["secrets"] == ["postgres_password", "app_db_password"]
    assert "./ops/deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    assert INIT_SCRIPT.stat().st_mode & 0o111  # executed by the image, not sourced
    # The app waits for the real server (TCP), not the socket-only one that runs the script.
    assert (
        postgres["healthcheck"]["test"][1]
        == "pg_isready -h 127.0.0.1 -U ticketsystem -d ticketsystem"
    )
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert "database_url" in service["secrets"]
        assert not {"postgres_password", "app_db_password"} & set(service["secrets"]), name
        assert service["environment"]["DATABASE_URL_FILE"] == "/run/secrets/database_url"


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier from pg_authid belongs to ``password``."""
    iterations_salt, keys = verifier.removeprefix("SCRAM-SHA-256$").split("$")
    iterations, salt = iterations_salt.split(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return base64.b64encode(hashlib.sha256(client_key).digest()).decode() == keys.split(":")[0]


def test_the_app_role_migrates_backs_up_and_restores_but_cannot_run_programs(
    gpg_keys, tmp_path, canary
):
    """The init script on this machine's PostgreSQL, then the app's commands as its role."""
    suffix = secrets.token_hex(4)
    role, database = f"{DB_PREFIX}role_{suffix}", f"{DB_PREFIX}app_{suffix}"
    restored = f"{DB_PREFIX}apprestore_{suffix}"
    password = secrets.token_urlsafe(24)
    (tmp_path / "app_db_password").write_text(password + "\n")
    sd = connection.settings_dict
    host, port = sd["HOST"] or "127.0.0.1", str(sd["PORT"] or 5432)
    init_env = {
        **os.environ,
        "PGHOST": host,
        "PGPORT": port,
        "POSTGRES_USER": sd["USER"],
        "APP_DB_NAME": database,
        "APP_DB_USER": role,
        "APP_DB_PASSWORD_FILE": str(tmp_path / "app_db_password"),
    }
    if sd["PASSWORD"]:
        init_env["PGPASSWORD"] = sd["PASSWORD"]

    def url(name: str) -> str:
        return f"postgres://{role}:{password}@{host}:{port}/{name}"

    backups = tmp_path / "backups"
    env = {
        **os.environ,
        "DATABASE_URL": url(database),
        "DATA_DIR": str(tmp_path / "data"),
        "BACKUP_DIR": str(backups),
        "BACKUP_GPG_PUBLIC_KEY_FILE": str(gpg_keys.public),
        "BACKUP_GPG_PRIVATE_KEY_FILE": str(gpg_keys.secret),
        "BACKUP_GPG_PASSPHRASE_FILE": str(gpg_keys.passphrase_file),
        "BACKUP_SCRATCH_DB_PREFIX": f"{DB_PREFIX}roleverify",
    }
    env.pop("BACKUP_GPG_PASSPHRASE", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = manage(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        return result

    try:
        init = subprocess.run(
            ["sh", str(INIT_SCRIPT)], env=init_env, capture_output=True, text=True, timeout=60
        )
        assert init.returncode == 0, init.stderr
        with psycopg.connect(dbname="postgres", **server_params()) as admin:
            attributes = admin.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
                " rolpassword FROM pg_authid WHERE rolname = %s",
                [role],
            ).fetchone()
            owner = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
        assert attributes[:5] == (False, False, True, False, False)
        assert _scram_matches(attributes[5], password)  # read from the file, newline dropped
        assert owner == (role,)

        run("migrate", "--noinput")
        run("reindex", "--if-missing")  # what the compose `migrate` service runs next
        with psycopg.connect(url(database)) as conn:
            assert conn.execute(
                "SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'pg_trgm'"
            ).fetchone() == (role,)
            assert conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_securityevent_append_only'"
            ).fetchone() == (1,)
        run("backup")
        assert (
            "restored into a scratch database (dropped)" in run("verifybackup", "--latest").stdout
        )
        manifest = str(backups / f"{only_set(backups)}.manifest.json")
        with psycopg.connect(url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
        run("restorebackup", manifest, "--database", url(restored))
        run("restorebackup", manifest, "--database", url(restored), "--force")
        with psycopg.connect(url(restored)) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone()[0] == len(
                read_manifest(backups, only_set(backups))["row_counts"]
            )

        refused = [
            f"COPY (SELECT 1) TO PROGRAM 'touch {canary}'",
            f"COPY (SELECT 1) TO '{canary}'",
            "SELECT pg_read_file('/etc/hostname')",
            "CREATE ROLE intruder SUPERUSER",
            f'ALTER ROLE "{role}" SUPERUSER',
        ]
        for statement in refused:
            with (
                psycopg.connect(url(database), autocommit=True) as conn,
                pytest.raises(psycopg.errors.InsufficientPrivilege),
            ):
                conn.execute(statement)
        # Even a set signed with the real key (its maker holds AUDIT_HMAC_KEY) cannot run a
        # program through a restore as this role: the restore fails and changes nothing.
        forged = "ticketsystem-20300101T000000Z"
        write_manifest(backups, forged, forge_set(gpg_keys, backups, forged, canary))
        attack = manage(
            "restorebackup",
            str(backups / f"{forged}.manifest.json"),
            "--database",
            url(restored),
            "--force",
            env=env,
        )
        assert attack.returncode != 0
        assert "pg_execute_server_program" in attack.stderr
        assert not canary.exists()
        with psycopg.connect(url(restored)) as conn:
            assert conn.execute("SELECT to_regclass('public.pwned')").fetchone() == (None,)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server_params()) as admin:
            leftovers = admin.execute(
                "SELECT datname FROM pg_database WHERE datname IN (%s, %s) OR datname LIKE %s",
                [database, restored, f"{DB_PREFIX}roleverify%"],
            ).fetchall()
            for (name,) in leftovers:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_web_runs_gunicorn_and_ws_runs_daphne_as_non_root_users_with_a_healthcheck():
    web, ws = SERVICES["web"], SERVICES["ws"]
    assert web["command"] == ["gunicorn", "--config", "/app/ops/deploy/gunicorn.conf.py"]
    # Migrations first, then any ticket without its search row (an upgrade that restarts it).
    assert SERVICES["migrate"]["command"][-1] == (
        "python manage.py migrate --noinput && python manage.py reindex --if-missing"
    )
    assert ws["command"][:3] == ["python", "-m", "ticketsystem.serve"]  # daphne
    for service in (web, ws):
        assert "--proxy-headers" not in service["command"]
        assert service["user"] == "10001:10001"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert service["healthcheck"]["test"] == [
            "CMD", "python", "/app/ops/deploy/healthcheck.py"
        ]  # fmt: skip
        assert service["environment"]["TRUSTED_PROXY_COUNT"] == "1"
        assert service["environment"]["DJANGO_ENV"] == "production"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        # Scalable with --scale: no fixed container name, no published port.
        assert "container_name" not in service and "ports" not in service
    assert web["environment"]["WEB_THREADS"] == "${WEB_THREADS:-1}"
    assert "egress" not in ws["networks"]  # sockets never send mail or call out
    assert SERVICES["nginx"]["depends_on"].keys() == {"web", "ws"}


def test_gunicorn_runs_sync_workers_two_per_core_plus_one_without_preloading():
    conf: dict = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEB_")}
    code = compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec")
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        exec(code, conf)  # noqa: S102 (our own config file)
        assert conf["workers"] == 2 * (os.cpu_count() or 1) + 1
        assert (conf["worker_class"], conf["threads"]) == ("sync", 1)
        os.environ.update(WEB_WORKERS="3", WEB_THREADS="8")
        exec(code, conf)  # noqa: S102
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert (conf["workers"], conf["threads"]) == (3, 8)
    assert conf["worker_class"] == "gthread"  # threads: gthread workers
    assert conf["wsgi_app"] == "ticketsystem.wsgi:application"
    assert conf["preload_app"] is False  # each worker opens its own pool after the fork
    assert conf["forwarded_allow_ips"] == ""


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
    assert schedule[("*", "*", "*", "*", "*")] == "python /app/manage.py fetchmail"
    assert schedule[("30", "4", "*", "*", "*")] == (
        "python /app/manage.py prune_db_task_results --min-age-days 14"
    )
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
    assert cmd == ['CMD ["gunicorn", "--config", "/app/ops/deploy/gunicorn.conf.py"]']
    assert "gunicorn==" in (BASE_DIR / "pyproject.toml").read_text()


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


def test_the_healthcheck_script_probes_healthz_on_daphne(tmp_path):
    """The image's probe against the image's server (daphne), production-style hosts."""
    import time

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATA_DIR=str(tmp_path), ALLOWED_HOSTS="helpdesk.example.org")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ticketsystem.serve",
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
    assert "limit_req_zone $client_net zone=login:10m rate=10r/m;" in site
    assert "location = /metrics { return 404; }" in site
    # Websocket handshake floods stop at nginx, per address, before daphne sees them.
    sockets = site.split("location /ws/ {", 1)[1].split("}", 1)[0]
    assert "limit_req zone=ws burst=20 nodelay;" in sockets
    assert "limit_conn wsconn 40;" in sockets
    assert "limit_req_zone $client_net zone=ws:10m rate=30r/m;" in site
    assert "$binary_remote_addr" not in site  # every limit counts the client's network
    assert "return 301 https://${SITE_HOST}$request_uri;" in site
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in proxy
    # Pages to gunicorn, websockets to daphne.
    assert "proxy_pass http" not in proxy
    assert "server ${APP_UPSTREAM};" in site and "server ${WS_UPSTREAM};" in site
    ws = site.split("location /ws/ {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://ticketsystem_ws;" in ws
    pages = site.rsplit("location / {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://ticketsystem_app;" in pages
    assert "proxy_pass http://ticketsystem_app;" in login
    assert site.count("proxy_pass") == 3
    nginx_env = SERVICES["nginx"]["environment"]
    assert (nginx_env["APP_UPSTREAM"], nginx_env["WS_UPSTREAM"]) == (
        "${APP_UPSTREAM:-web:8000}",
        "${WS_UPSTREAM:-ws:8000}",
    )
    assert "WS_UPSTREAM" in nginx_env["NGINX_ENVSUBST_FILTER"]
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in proxy
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls


def test_nginx_logs_no_query_strings():
    site = (DEPLOY / "nginx/templates/ticketsystem.conf.template").read_text()
    log_format = re.search(r"log_format ticketsystem ([^;]*);", site).group(1)
    assert "$uri" in log_format
    for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$arg_"):
        assert leaky not in log_format, leaky
    assert "$http_referer" not in log_format  # a same-origin referrer carries the query too
    servers = site.count("server {")
    assert site.count("access_log /var/log/nginx/access.log ticketsystem;") == servers == 3


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


def _nginx_client_net(address: str) -> str:
    """$client_net for $remote_addr as nginx computes it: the map's regexes in order, the
    first match wins, named captures substituted."""
    site = (DEPLOY / "nginx/templates/ticketsystem.conf.template").read_text()
    block = site.split("map $remote_addr $client_net {", 1)[1].split("\n}", 1)[0]
    for line in block.strip().splitlines():
        if line.strip().startswith("#"):
            continue
        pattern, value = line.strip().rstrip(";").rsplit(None, 1)
        pattern = pattern.strip('"')
        if pattern == "default":
            return address
        if found := re.match(pattern.removeprefix("~"), address):
            return re.sub(r"\$(\w+)", lambda m: found.group(m.group(1)), value)
    raise AssertionError("the map has no default")


def test_nginx_limits_count_an_ipv6_client_by_its_64():
    one_64 = [
        "2001:db8::1",
        "2001:db8::ffff:1:2:3",
        "2001:db8:0:0:1::",
        "2001:db8:0:0:abcd:ef01:2345:6789",
        "2001:db8:0::7",
    ]
    assert len({_nginx_client_net(a) for a in one_64}) <= 3
    others = ["2001:db8:0:1::1", "2001:db8:1::1", "2001:db9::1", "fe80::1", "::1"]
    keys = {_nginx_client_net(a) for a in others}
    assert len(keys) == len(others) and not keys & {_nginx_client_net(a) for a in one_64}
    assert _nginx_client_net("2001:db8:0:1:2:3:4:5") == "2001:db8:0:1"
    assert _nginx_client_net("192.0.2.7") == "192.0.2.7"
    assert _nginx_client_net("::ffff:192.0.2.7") == "192.0.2.7"
