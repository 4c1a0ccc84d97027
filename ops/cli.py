"""Shared helpers for management commands."""

from __future__ import annotations

import contextlib
import getpass
import signal
from collections.abc import Iterator
from types import FrameType

from django.core.management.base import CommandError


def cli_username() -> str:
    """How a command's security events name who ran it: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"[:150]
    except (KeyError, OSError):
        return "cli"


# A larger --batch-size overflows the database's LIMIT (bigint) into a traceback.
MAX_BATCH_SIZE = 1_000_000


def check_batch_size(value: int) -> None:
    """A one-line CommandError for a --batch-size out of range."""
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")


class Interrupted(BaseException):
    """SIGTERM or SIGINT: unwinds like KeyboardInterrupt, so every ``finally`` cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into ``Interrupted`` for the block, and ignore a second one
    while the cleanup runs (a drill holds key material and scratch databases to remove)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        for other in (signal.SIGTERM, signal.SIGINT):
            signal.signal(other, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_interrupted(exc: Interrupted, what: str) -> CommandError:
    """The one line (and exit status 128 + signal) a command ends with when it was stopped."""
    return CommandError(
        f"{what} interrupted by {exc}: cleaned up, nothing kept", returncode=128 + exc.signum
    )
