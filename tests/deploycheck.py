"""Run `manage.py check --deploy --fail-level WARNING` in production mode with throwaway
secrets written to files (the Docker-secrets form), as CI does.

    .venv/bin/python -m tests.deploycheck
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_env(secret_dir: Path, **overrides: str) -> dict[str, str]:
    """A complete production environment whose secrets live in files under secret_dir."""
    from ticketsystem.cipher import generate_key

    values = {
        "secret_key": secrets.token_urlsafe(64),
        "field_encryption_keys": f"k1:{generate_key()}",
        "blind_index_key": generate_key(),
        "audit_hmac_key": generate_key(),
        "search_index_key": generate_key(),
        "database_url": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketsystem"
        ),
        "redis_url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONPATH", "TMPDIR"}
    }
    for name, value in values.items():
        path = secret_dir / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        env[f"{name.upper()}_FILE"] = str(path)
    env.update(
        {
            "DJANGO_ENV": "production",
            "ALLOWED_HOSTS": "helpdesk.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://helpdesk.example.org",
            "TRUSTED_PROXY_COUNT": "1",
            "DATA_DIR": str(secret_dir / "data"),
            "STATIC_ROOT": str(secret_dir / "static"),
        }
    )
    env.update(overrides)
    return env


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = production_env(Path(tmp))
        command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
