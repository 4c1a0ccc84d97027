"""What production mode refuses to start without. Each problem is one line."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

WEAK_PREFIXES = ("django-insecure", "changeme", "change-me", "secret")


def secret_key_problem(key: str) -> str | None:
    if not key:
        return "SECRET_KEY (or SECRET_KEY_FILE) is not set"
    if len(key) < 50 or len(set(key)) < 5 or key.lower().startswith(WEAK_PREFIXES):
        return "SECRET_KEY is weak: use at least 50 random characters"
    # Random text does not compress; a repeated or patterned key ("abcde" * 12) does.
    if len(zlib.compress(key.encode(), 9)) < 0.8 * len(key):
        return "SECRET_KEY is weak: it repeats a pattern; use at least 50 random characters"
    return None


def key_problems(config: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with each configured key, by setting name (every mode needs them)."""
    from ticketsystem.cipher import KeyringError, parse_blind_index_key, parse_keyring

    problems: dict[str, str] = {}
    try:
        parse_keyring(config["FIELD_ENCRYPTION_KEYS"])
    except KeyringError as exc:
        problems["FIELD_ENCRYPTION_KEYS"] = f"FIELD_ENCRYPTION_KEYS: {exc}"
    for name in ("BLIND_INDEX_KEY", "AUDIT_HMAC_KEY", "SEARCH_INDEX_KEY"):
        try:
            parse_blind_index_key(config.get(name, ""), name=name)
        except KeyringError as exc:
            problems[name] = str(exc)
    return problems


def production_problems(config: dict[str, Any]) -> list[str]:
    """Return the reasons production must not start with this configuration, most basic first."""
    problems: list[str] = []
    if problem := secret_key_problem(config["SECRET_KEY"]):
        problems.append(problem)
    if config["DEBUG"]:
        problems.append("DEBUG must be off in production")
    if not config["ALLOWED_HOSTS"]:
        problems.append("ALLOWED_HOSTS is empty: list the host names this site answers to")
    elif "*" in config["ALLOWED_HOSTS"]:
        problems.append("ALLOWED_HOSTS must not contain '*' in production")
    plain = [o for o in config.get("CSRF_TRUSTED_ORIGINS", []) if not o.startswith("https://")]
    if plain:
        problems.append(
            f"CSRF_TRUSTED_ORIGINS must list https:// origins only in production: {plain[0]}"
        )
    if not config["SECURE_COOKIES"]:
        problems.append("SECURE_COOKIES must be true in production (cookies only over HTTPS)")
    if config["SECURE_HSTS_SECONDS"] < 31_536_000:
        problems.append("SECURE_HSTS_SECONDS must be at least one year in production")
    if not config["DATABASE_URL"]:
        problems.append("DATABASE_URL (or DATABASE_URL_FILE) is not set")
    if not config["REDIS_URL"]:
        # Without Redis, throttles, the cache and live events would be per process: a second
        # process would silently double every limit and miss every other process's events.
        problems.append("REDIS_URL (or REDIS_URL_FILE) is not set")
    problems.extend(key_problems(config).values())
    return problems
