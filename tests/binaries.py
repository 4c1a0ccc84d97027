"""System programs some tests run, and the Debian package that provides each.

A test that needs one fails, with a one-line reason naming the package, when it is missing:
never a skip, and never a pass that only means "the program could not be started".
tests/conftest.py applies this to whole files; a fixture or test can call ``require_binary``.
"""

from __future__ import annotations

import os
import shutil

import pytest

# program -> Debian package (what .ci/run installs when it is missing)
PACKAGES = {
    "gpg": "gnupg",
    "gpgconf": "gnupg",
    "pg_dump": "postgresql-client",
    "pg_restore": "postgresql-client",
    "psql": "postgresql-client",
    "chromium": "chromium",
    "fail2ban-regex": "fail2ban",
    "dovecot": "dovecot-imapd",
    "redis-server": "redis-server",
    "nginx": "nginx",
}

# Daemons such as dovecot live in sbin, which is not on every user's PATH.
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", os.defpath), "/usr/local/sbin", "/usr/sbin", "/sbin"]
)


def find_binary(name: str) -> str | None:
    """The full path of a program, or None."""
    return shutil.which(name, path=SEARCH_PATH)


def require_binary(name: str, *, package: str | None = None) -> str:
    """The full path of ``name``; fails the current test if it is not installed."""
    path = find_binary(name)
    if path is None:
        package = package or PACKAGES.get(name, name)
        pytest.fail(
            f"{name} is not installed: apt-get install {package} (the test needs it)",
            pytrace=False,
        )
    return path
