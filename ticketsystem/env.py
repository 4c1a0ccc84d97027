"""Reading configuration from the environment, with `NAME_FILE` secrets (Docker secrets).

Every helper fails closed: a malformed value or an unreadable secret file stops the
process with a one-line reason instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message is one line."""


def envstr(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def envsecret(name: str, default: str = "") -> str:
    """Return NAME, or the contents of the file named by NAME_FILE.

    A NAME_FILE that is set but unreadable is an error, never a silent fallback.
    """
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path:
        if os.environ.get(name):
            raise ConfigError(f"set either {name} or {name}_FILE, not both")
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path} cannot be read: {exc.strerror}") from exc
    return envstr(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer in [minimum, maximum]: every numeric setting has a range, so an absurd
    value stops the process in one line instead of overflowing somewhere later."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    text = value.strip()
    # int() of a long digit string is slow (and refused past 4300 digits): nothing in range
    # is that long, so say so before parsing.
    if len(text) > 20:
        raise ConfigError(f"{name} must be an integer from {minimum} to {maximum}")
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}")
    if number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {number}")
    return number


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


def dev_secret(data_dir: Path, name: str, make: Callable[[], str]) -> str:
    """Development only: a secret generated once and kept in DATA_DIR (mode 0600)."""
    path = data_dir / "dev-secrets" / name.lower()
    try:
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = make()
        path.touch(mode=0o600)
        path.write_text(value + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"DATA_DIR={data_dir} cannot hold the development {name}: {exc.strerror}"
        ) from None
    return value


def envredis(name: str) -> str:
    """A Redis URL (redis://, rediss:// or unix://, database as a number), or empty."""
    value = envsecret(name)
    if not value:
        return value
    try:
        parsed = urlparse(value)
        parsed.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ConfigError(f"{name} is not a valid URL") from None
    if parsed.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name} must be a redis://, rediss:// or unix:// URL")
    database = parsed.path.strip("/") if parsed.scheme != "unix" else "0"
    if database and not database.isdigit():
        raise ConfigError(f"{name}: the database must be a number, not {database!r}")
    return value


def random_key() -> str:
    """32 random bytes, base64url encoded: a development key."""
    return urlsafe_b64encode(secrets.token_bytes(32)).decode()
