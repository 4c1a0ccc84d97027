"""manage.py securitycheck: is this installation safe to run? One row per check."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core import checks as django_checks

from ops import gpg
from ops.gpg import BackupError
from ops.health import check_audit_chain, check_backup_age
from ticketsystem.cipher import KeyringError, parse_blind_index_key, parse_keyring
from ticketsystem.production import secret_key_problem

# Every secret the project reads with envsecret(): NAME or NAME_FILE.
SECRETS = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "AUDIT_HMAC_KEY",
    "SEARCH_INDEX_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST_PASSWORD",
    "METRICS_TOKEN",
    "MONITOR_WEBHOOK_URL",
    "BACKUP_GPG_PASSPHRASE",
)
KEY_FILES = ("BACKUP_GPG_PRIVATE_KEY_FILE",)
MIN_RSA_BITS = 3072
KEY_EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def check_deploy() -> Finding:
    """Django's own ``check --deploy`` (warnings count, silenced ones don't)."""
    messages = [
        m
        for m in django_checks.run_checks(include_deployment_checks=True)
        if m.level >= django_checks.WARNING and not m.is_silenced()
    ]
    if not messages:
        return Finding("check --deploy", True, "no errors or warnings")
    ids = ", ".join(sorted({m.id or "?" for m in messages})[:6])
    return Finding("check --deploy", False, f"{len(messages)} problems: {ids}")


def check_keys() -> Finding:
    problem = secret_key_problem(settings.SECRET_KEY)
    if problem:
        return Finding("secret keys", False, problem)
    try:
        keyring = parse_keyring(settings.FIELD_ENCRYPTION_KEYS)
        blind = parse_blind_index_key(settings.BLIND_INDEX_KEY)
        chain = parse_blind_index_key(settings.AUDIT_HMAC_KEY, name="AUDIT_HMAC_KEY")
        search = parse_blind_index_key(settings.SEARCH_INDEX_KEY, name="SEARCH_INDEX_KEY")
    except KeyringError as exc:
        return Finding("secret keys", False, str(exc))
    keys = [*keyring.keys.values(), blind, chain, search]
    if len(set(keys)) != len(keys):
        return Finding("secret keys", False, "the same key is used for two purposes")
    return Finding(
        "secret keys",
        True,
        f"SECRET_KEY strong; {len(keyring.keys)} field keys, 3 HMAC keys, all distinct",
    )


def check_secret_sources() -> Finding:
    """Production reads secrets from files (Docker secrets) that only their owner can read."""
    problems = []
    for name in SECRETS:
        path = os.environ.get(f"{name}_FILE", "").strip()
        value = os.environ.get(name, "")
        # A Redis URL without credentials is not a secret.
        secret = bool(value) and (name != "REDIS_URL" or "@" in value)
        if secret and settings.PRODUCTION:
            problems.append(f"{name} is in the environment (use {name}_FILE)")
        if path:
            problems += _file_problems(f"{name}_FILE", Path(path))
    for name in KEY_FILES:
        if getattr(settings, name, ""):
            problems += _file_problems(name, Path(getattr(settings, name)))
    if problems:
        return Finding("secret files", False, "; ".join(problems[:3]))
    return Finding("secret files", True, "secrets come from files readable by their owner only")


def _file_problems(label: str, path: Path) -> list[str]:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return [f"{label} {path}: {exc.strerror}"]
    if mode & stat.S_IROTH or mode & stat.S_IWOTH:
        return [f"{label} {path} is readable by everyone (chmod 0400 or 0440)"]
    return []


def check_metrics_access() -> Finding:
    if settings.METRICS_TOKEN:
        return Finding("metrics access", True, "bearer token set")
    if settings.METRICS_ALLOWED_IPS:
        return Finding(
            "metrics access", True, f"IP allow-list: {', '.join(settings.METRICS_ALLOWED_IPS)}"
        )
    return Finding("metrics access", True, "closed (no token, no allow-list)")


def check_alert_channel() -> Finding:
    channels = [
        name
        for name, on in (
            ("email", settings.MONITOR_ALERT_EMAILS),
            ("webhook", settings.MONITOR_WEBHOOK_URL),
        )
        if on
    ]
    if not channels:
        return Finding(
            "alert channel", False, "set MONITOR_ALERT_EMAILS and/or MONITOR_WEBHOOK_URL"
        )
    return Finding("alert channel", True, " and ".join(channels))


def check_backup_key() -> Finding:
    """The recipient key imports, can encrypt, is strong and not about to expire."""
    try:
        with gpg.keyring() as ring:
            keys = gpg.import_recipients(ring)
    except BackupError as exc:
        return Finding("backup key", False, str(exc))
    now = datetime.now(UTC)
    for key in keys:
        if key.algorithm == "1" and key.length < MIN_RSA_BITS:
            return Finding("backup key", False, f"{key.description}: RSA below {MIN_RSA_BITS} bits")
        if key.expires and key.expires - now < KEY_EXPIRY_WARNING:
            return Finding("backup key", False, f"{key.description} expires within 30 days")
    return Finding("backup key", True, "; ".join(key.description for key in keys))


def check_restore_key() -> Finding:
    """Where the private key is configured, it must decrypt what the public key encrypts."""
    if not settings.BACKUP_GPG_PRIVATE_KEY_FILE:
        return Finding("restore key", True, "not on this host (restore drills run elsewhere)")
    probe = b"ticketsystem securitycheck probe"
    try:
        with gpg.keyring() as ring:
            gpg.import_recipients(ring)
            encrypted = bytearray()
            gpg.encrypt_stream(
                ring, gpg.BytesReader(probe), gpg.Sink(encrypted.extend), compress=False
            )
            gpg.import_private_key(ring)
            decrypted = bytearray()
            gpg.decrypt_stream(
                ring,
                gpg.BytesReader(bytes(encrypted)),
                gpg.Sink(decrypted.extend),
                secret=gpg.passphrase(),
            )
    except BackupError as exc:
        return Finding("restore key", False, str(exc))
    if bytes(decrypted) != probe:
        return Finding("restore key", False, "the private key does not decrypt the probe")
    return Finding("restore key", True, "private key and passphrase decrypt a test message")


def check_backup_dir() -> Finding:
    directory = Path(settings.BACKUP_DIR)
    if not directory.exists():
        return Finding("backup directory", False, f"{directory} does not exist yet (no backup ran)")
    if directory.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Finding(
            "backup directory", False, f"{directory} is open to group/others (chmod 0700)"
        )
    return Finding("backup directory", True, f"{directory} (mode 0700)")


def check_backup_fresh() -> Finding:
    result = check_backup_age()
    return Finding("last backup", result.ok is True, result.summary)


def check_chain() -> Finding:
    result = check_audit_chain()
    return Finding("audit chain", result.ok is True, result.summary)


CHECKS: list[Callable[[], Finding]] = [
    check_deploy,
    check_keys,
    check_secret_sources,
    check_metrics_access,
    check_alert_channel,
    check_backup_key,
    check_restore_key,
    check_backup_dir,
    check_backup_fresh,
    check_chain,
]


def run_all() -> list[Finding]:
    return [check() for check in CHECKS]
