"""Configuration fails closed: production refuses to start on a missing or weak setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploycheck import ROOT, production_env


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _shell(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in a fresh process with these settings (as manage.py would)."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-v", "0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_passes_check_deploy_at_warning_level(tmp_path: Path):
    result = _check(production_env(tmp_path), "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"SECRET_KEY_FILE": "", "SECRET_KEY": ""}, "SECRET_KEY (or SECRET_KEY_FILE) is not set"),
        ({"SECRET_KEY_FILE": "", "SECRET_KEY": "short"}, "SECRET_KEY is weak"),
        (
            {"SECRET_KEY_FILE": "", "SECRET_KEY": "django-insecure-" + "x1y2z3" * 10},
            "SECRET_KEY is weak",
        ),
        ({"SECRET_KEY_FILE": "", "SECRET_KEY": "abcde" * 12}, "SECRET_KEY is weak: it repeats"),
        (
            {"CSRF_TRUSTED_ORIGINS": "https://helpdesk.example.org,http://helpdesk.example.org"},
            "CSRF_TRUSTED_ORIGINS must list https:// origins only in production: http://",
        ),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must not contain '*'"),
        ({"SECURE_COOKIES": "false"}, "SECURE_COOKIES must be true"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"SECURE_HSTS_SECONDS": "60"}, "SECURE_HSTS_SECONDS must be at least one year"),
        ({"FIELD_ENCRYPTION_KEYS_FILE": ""}, "FIELD_ENCRYPTION_KEYS: no keys configured"),
        (
            {"FIELD_ENCRYPTION_KEYS_FILE": "", "FIELD_ENCRYPTION_KEYS": "k1:c2hvcnQ="},
            "must decode to 32 bytes",
        ),
        ({"BLIND_INDEX_KEY_FILE": ""}, "BLIND_INDEX_KEY (or BLIND_INDEX_KEY_FILE) is not set"),
        ({"AUDIT_HMAC_KEY_FILE": ""}, "AUDIT_HMAC_KEY (or AUDIT_HMAC_KEY_FILE) is not set"),
        ({"SEARCH_INDEX_KEY_FILE": ""}, "SEARCH_INDEX_KEY (or SEARCH_INDEX_KEY_FILE) is not set"),
        ({"DATABASE_URL_FILE": ""}, "DATABASE_URL (or DATABASE_URL_FILE) is not set"),
        ({"REDIS_URL_FILE": ""}, "REDIS_URL (or REDIS_URL_FILE) is not set"),
        (
            {"SECRET_KEY_FILE": "/nonexistent/secret"},
            "SECRET_KEY_FILE=/nonexistent/secret cannot be read",
        ),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be development or production"),
        ({"SESSION_IDLE_SECONDS": "soon"}, "SESSION_IDLE_SECONDS must be an integer"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        # Absurd numbers: each setting has a range, so nothing overflows later.
        ({"MONITOR_COOLDOWN_MINUTES": "9" * 30}, "MONITOR_COOLDOWN_MINUTES must be an integer"),
        ({"MONITOR_COOLDOWN_MINUTES": "99999999"}, "MONITOR_COOLDOWN_MINUTES must be at most"),
        ({"BACKUP_MAX_AGE_HOURS": "99999999999999"}, "BACKUP_MAX_AGE_HOURS must be at most 8760"),
        ({"MONITOR_WEBHOOK_TIMEOUT": "999999999999"}, "MONITOR_WEBHOOK_TIMEOUT must be at most"),
        ({"LOGIN_LOCKOUT_MINUTES": "9999999999999999"}, "LOGIN_LOCKOUT_MINUTES must be at most"),
        (
            {"MONITOR_DISK_MIN_FREE_PERCENT": "500"},
            "MONITOR_DISK_MIN_FREE_PERCENT must be at most 99",
        ),
        ({"LOGIN_USERNAME_FAILURE_LIMIT": "0"}, "LOGIN_USERNAME_FAILURE_LIMIT must be at least 1"),
        ({"EMAIL_TIMEOUT": "601"}, "EMAIL_TIMEOUT must be at most 600"),
        ({"REDIS_URL_FILE": "", "REDIS_URL": "garbage"}, "REDIS_URL must be a redis://"),
        ({"REDIS_URL_FILE": "", "REDIS_URL": "redis://h:99999/0"}, "REDIS_URL is not a valid URL"),
        ({"REDIS_URL_FILE": "", "REDIS_URL": "redis://h/x"}, "the database must be a number"),
        ({"TRUSTED_PROXY_IPS": "nginx.local"}, "TRUSTED_PROXY_IPS: "),
        ({"LIVE_MAX_SOCKETS_PER_USER": "0"}, "LIVE_MAX_SOCKETS_PER_USER must be at least 1"),
        ({"LIVE_MAX_SOCKETS_PER_SESSION": "99999"}, "LIVE_MAX_SOCKETS_PER_SESSION must be at most"),
        ({"LIVE_LAYER_CHECK_SECONDS": "9999"}, "LIVE_LAYER_CHECK_SECONDS must be at most 300"),
    ],
)
def test_production_refuses_to_start_with_a_one_line_reason(tmp_path: Path, overrides, reason):
    result = _check(production_env(tmp_path, **overrides))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ticketsystem: refusing to start: ")
    assert reason in lines[0]


def test_secrets_are_read_from_files(tmp_path: Path):
    env = production_env(tmp_path)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = _shell(env, code)
    assert result.stdout.strip() == (tmp_path / "secret_key").read_text().strip()


def test_a_secret_given_twice_is_refused(tmp_path: Path):
    env = production_env(tmp_path, SECRET_KEY="x" * 60)
    result = _check(env)
    assert "set either SECRET_KEY or SECRET_KEY_FILE, not both" in result.stderr


def test_production_cookies_are_secure_and_host_prefixed(tmp_path: Path):
    env = production_env(tmp_path)
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.DEBUG)"
    )
    result = _shell(env, code)
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
        "Lax",
        "False",
    ]


def test_development_defaults_need_no_servers_and_keep_debug_off(tmp_path: Path):
    env = {k: v for k, v in production_env(tmp_path).items() if not k.endswith("_FILE")}
    env.pop("DJANGO_ENV")
    env.pop("ALLOWED_HOSTS")
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    result = _shell(env, code)
    assert result.stdout.split() == [
        "False",
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
    ], result.stderr
    generated = tmp_path / "data" / "dev-secrets" / "secret_key"
    assert generated.exists() and oct(generated.stat().st_mode & 0o777) == "0o600"


def test_an_unwritable_data_dir_is_one_line_in_development(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {k: v for k, v in production_env(tmp_path).items() if not k.endswith("_FILE")}
    env.pop("DJANGO_ENV")
    env["DATA_DIR"] = str(blocker / "data")  # as on a read-only file system: cannot be made
    result = _check(env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"ticketsystem: refusing to start: DATA_DIR={blocker / 'data'} cannot hold the "
        "development SECRET_KEY: Not a directory"
    ]


def test_every_integer_setting_has_a_range():
    from ticketsystem.env import ConfigError, envint

    with pytest.raises(TypeError):
        envint("TICKETS_PER_PAGE", 50, minimum=1)  # type: ignore[call-arg]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("X_SETTING", "9" * 5000)  # int() would refuse it with a ValueError
        with pytest.raises(ConfigError, match="X_SETTING must be an integer from 1 to 10"):
            envint("X_SETTING", 5, minimum=1, maximum=10)
